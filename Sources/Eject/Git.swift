import Adapters
import Foundation
import Operations
import Runner

/// Eject's git: run by the installer identity (`Installer.run(.git, …)`, which runs `GitCommand`, the one way
/// plugind runs git), each process group recorded by the operation, failures as eject's errors.
struct Git: Sendable {
    let installer: any Installer
    /// Learns each git's process group (an operation records it, so recovery can end a git a crash left running).
    var onSpawn: (@Sendable (pid_t) -> Void)?

    init(installer: any Installer) {
        self.installer = installer
    }

    /// This git, with every process it starts recorded in `ctx`'s checkpoint.
    func watched(by ctx: OperationContext) -> Git {
        var watched = self
        watched.onSpawn = { ctx.childStarted($0) }
        return watched
    }

    struct Output {
        let status: Int32
        let text: String
    }

    func run(_ arguments: [String], in directory: String?, timeoutMs: Int, what: String) throws -> Output {
        let result = try installer.run(.git, arguments, in: directory, timeoutMs: timeoutMs, onSpawn: onSpawn)
        if result.timedOut { throw EjectError.timedOut("git \(what) did not finish in time; check the network or timeouts.gitMs.") }
        return Output(status: result.exitCode ?? -1, text: result.output)
    }

    /// Runs and requires success; failures of fetching kinds are upstream errors.
    @discardableResult
    func must(_ arguments: [String], in directory: String?, timeoutMs: Int, what: String) throws -> String {
        let output = try run(arguments, in: directory, timeoutMs: timeoutMs, what: what)
        guard output.status == 0 else {
            let reason = GitCommand.failureReason(output.text)
            let fix = ["clone", "fetch", "pull"].contains(what) ? "; check gitBaseUrl, the repository or the network" : ""
            throw EjectError.upstream("git \(what) failed (\(reason.count > 160 ? reason.prefix(160) + "…" : reason))\(fix).")
        }
        return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
