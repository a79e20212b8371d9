import Adapters
import Foundation
import Operations
import Runner

/// git, run by the installer identity (`Installer.run(.git, …)`, with `GitCommand`'s fixed settings).
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
        if result.timedOut { throw EjectError.timedOut("git \(what) did not finish in time.") }
        return Output(status: result.exitCode ?? -1, text: result.output)
    }

    /// Runs and requires success; failures of fetching kinds are upstream errors.
    @discardableResult
    func must(_ arguments: [String], in directory: String?, timeoutMs: Int, what: String) throws -> String {
        let output = try run(arguments, in: directory, timeoutMs: timeoutMs, what: what)
        guard output.status == 0 else {
            let lines = output.text.split(separator: "\n").map(String.init)
            // git says why on its fatal:/error: line; later lines are hints.
            let reason = lines.first { $0.hasPrefix("fatal:") || $0.hasPrefix("error:") } ?? lines.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
            throw EjectError.upstream("git \(what) failed: \(reason.prefix(300))")
        }
        return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
