import Adapters
import Foundation

/// git as a child process: its own process group, a timeout, no prompts, no system config, an
/// identity for merge commits, and only the transports plugind means to use.
struct Git: Sendable {
    let path: String
    let home: String
    let scrubber: SecretScrubber

    struct Output {
        let status: Int32
        let text: String
    }

    func run(_ arguments: [String], in directory: String?, timeoutMs: Int, what: String) throws(EjectError) -> Output {
        let settings = [
            "-c", "user.name=plugind", "-c", "user.email=plugind@localhost", "-c", "protocol.allow=never",
            "-c", "protocol.https.allow=always", "-c", "protocol.file.allow=always", "-c", "protocol.http.allow=always",
            "-c", "advice.detachedHead=false", "-c", "core.hooksPath=/dev/null",
        ]
        let process = ChildProcess(
            executable: "git", arguments: settings + arguments,
            environment: [
                "PATH": path, "HOME": home, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "/bin/false",
                "LC_ALL": "C",
            ],
            workingDirectory: directory, timeout: .milliseconds(max(1, timeoutMs)), outputMode: .combined, scrubber: scrubber)
        let result: ChildResult
        do {
            result = try process.run()
        } catch {
            throw .upstream("git could not be started: \(error)")
        }
        if result.timedOut { throw .timedOut("git \(what) did not finish in time.") }
        return Output(status: result.exitCode ?? -1, text: result.stdout)
    }

    /// Runs and requires success; failures of fetching kinds are upstream errors.
    @discardableResult
    func must(_ arguments: [String], in directory: String?, timeoutMs: Int, what: String) throws(EjectError) -> String {
        let output = try run(arguments, in: directory, timeoutMs: timeoutMs, what: what)
        guard output.status == 0 else {
            let lines = output.text.split(separator: "\n").map(String.init)
            // git says why on its fatal:/error: line; later lines are hints.
            let reason = lines.first { $0.hasPrefix("fatal:") || $0.hasPrefix("error:") } ?? lines.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
            throw .upstream("git \(what) failed: \(reason.prefix(300))")
        }
        return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
