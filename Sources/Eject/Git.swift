import Adapters
import Foundation
import Install

/// git, run by the installer identity (`Installer.run(.git, …)`, with `GitCommand`'s fixed settings).
struct Git: Sendable {
    let installer: any Installer

    struct Output {
        let status: Int32
        let text: String
    }

    func run(_ arguments: [String], in directory: String?, timeoutMs: Int, what: String) throws -> Output {
        let result = try installer.run(.git, arguments, in: directory, timeoutMs: timeoutMs)
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
