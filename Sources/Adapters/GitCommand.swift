import Foundation
import Glibc

/// The one way plugind runs git: its own process group, a timeout, no prompts, no system or user config, an
/// identity for merge commits, the repository's own hooks and fsmonitor off, and only the transports plugind
/// means to use (https, http, file; never `ext::`).
public struct GitCommand: Sendable {
    public let path: String
    public let home: String

    public init(path: String, home: String) {
        self.path = path
        self.home = home
    }

    static let settings = [
        "-c", "user.name=plugind", "-c", "user.email=plugind@localhost", "-c", "protocol.allow=never",
        "-c", "protocol.https.allow=always", "-c", "protocol.file.allow=always", "-c", "protocol.http.allow=always",
        "-c", "protocol.ext.allow=never", "-c", "advice.detachedHead=false", "-c", "core.hooksPath=/dev/null",
        "-c", "core.fsmonitor=false",
    ]

    public func run(
        _ arguments: [String], in directory: String?, timeoutMs: Int, scrubber: SecretScrubber, onSpawn: (@Sendable (pid_t) -> Void)? = nil
    ) throws(ChildProcessError) -> ChildResult {
        var process = ChildProcess(
            executable: "git", arguments: Self.settings + arguments,
            environment: [
                "PATH": path, "HOME": home, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                "GIT_ASKPASS": "/bin/false", "LC_ALL": "C",
            ],
            workingDirectory: directory, timeout: .milliseconds(max(1, timeoutMs)), outputMode: .combined, scrubber: scrubber)
        process.onSpawn = onSpawn
        return try process.run()
    }

    /// What a failed git run says went wrong: its `fatal:` or `error:` line (later lines are hints), else its last
    /// line that is not blank; at most 300 characters.
    public static func failureReason(_ output: String) -> String {
        let lines = output.split(separator: "\n").map(String.init)
        let reason = lines.first { $0.hasPrefix("fatal:") || $0.hasPrefix("error:") } ?? lines.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        return String(reason.prefix(300))
    }
}
