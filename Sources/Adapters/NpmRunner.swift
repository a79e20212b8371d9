import Foundation

/// The one way plugind runs npm: which binary, with what environment and limits. Every run gets exactly this
/// environment (nothing inherited): `PATH`, a `HOME` and npm cache of plugind's choosing, the run's own `TMPDIR`,
/// git replaced by a program that refuses (`npm_config_git=/bin/false`), no update notifier.
public struct NpmRunner: Sendable {
    public let executable: String
    public let path: String
    public let timeoutMs: Int
    public let home: String
    public let cache: String

    public init(executable: String = "npm", path: String, timeoutMs: Int, home: String, cache: String) {
        self.executable = executable
        self.path = path
        self.timeoutMs = timeoutMs
        self.home = home
        self.cache = cache
    }

    /// The environment of every npm run; `temporary` is the run's own TMPDIR.
    public func environment(temporary: String) -> [String: String] {
        [
            "PATH": path, "HOME": home, "TMPDIR": temporary, "npm_config_cache": cache, "npm_config_update_notifier": "false",
            "npm_config_git": "/bin/false", "npm_config_fund": "false", "npm_config_audit": "false",
        ]
    }

    /// Runs npm with `arguments` in `directory`, for at most `timeoutMs`, its output scrubbed and interleaved.
    public func run(
        _ arguments: [String], in directory: String, temporary: String, timeoutMs: Int, scrubber: SecretScrubber,
        onSpawn: (@Sendable (pid_t) -> Void)? = nil
    ) throws(ChildProcessError) -> ChildResult {
        try? FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var process = ChildProcess(
            executable: executable, arguments: arguments, environment: environment(temporary: temporary), workingDirectory: directory,
            timeout: .milliseconds(max(1, timeoutMs)), outputMode: .combined, scrubber: scrubber)
        process.onSpawn = onSpawn
        return try process.run()
    }

    /// What npm's output says failed, in one line: the request that failed when one did (`404 Not Found - GET …`),
    /// else its first error line, without npm's prefix. Never the pointer to its log file, nor the code, path or
    /// errno lines (server paths that say nothing to the person who asked).
    public static func failureLine(_ output: String) -> String {
        let noise = ["A complete log", "log of this run", "Log files were not written", "code ", "path ", "errno ", "syscall ", "dest "]
        let errors = output.split(separator: "\n").compactMap { line -> Substring? in
            guard let prefix = ["npm error ", "npm ERR! "].first(where: { line.hasPrefix($0) }) else { return nil }
            let text = line.dropFirst(prefix.count).drop(while: { $0 == " " })
            return text.isEmpty || noise.contains(where: { text.hasPrefix($0) || text.contains("A complete log") }) ? nil : text
        }
        let line = errors.first(where: { $0.contains(" - GET ") || $0.contains("fetch") }) ?? errors.first
            ?? output.split(separator: "\n").last(where: { !$0.contains("A complete log") }) ?? ""
        return String(line.prefix(300))
    }
}
