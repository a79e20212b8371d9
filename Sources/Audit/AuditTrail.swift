import Dispatch
import Foundation
import Glibc
import JSON
import Locking
import Logging
import Operations
import Stores

/// The audit trail: one entry per changing request that passed the gates, with who asked (role, token id and
/// label), what it acted on, what it answered, what it changed in the agent config (names, flags and versions; never
/// a value) and how the operation it started ended. Entries follow the agent config through a SIGKILL: a write is
/// preceded by a pending entry holding the hash of the file about to be in place, and `recoverInterrupted` at the
/// next start completes or voids it by comparing that hash with the file's (docs/deployment.md, "Audit trail").
public final class AuditTrail: Sendable {
    /// How long entries are kept, and how many.
    public struct Retention: Sendable {
        public let days: Int
        public let maxEntries: Int
        public init(days: Int, maxEntries: Int) {
            self.days = days
            self.maxEntries = maxEntries
        }
    }

    public let store: AuditStore
    let configFile: AgentConfigFile
    let owner: ProcessOwner
    let pause: CrashTestPause
    let logger: Logger
    public let retention: Retention
    /// Entries stored since the last prune; past `pruneEvery`, the pruner is woken.
    private let stored = Locked(0)
    private let wake = DispatchSemaphore(value: 0)
    /// Rows deleted per transaction while pruning.
    static let pruneBatch = 500

    public init(store: AuditStore, configFile: AgentConfigFile, retention: Retention, pause: CrashTestPause, logger: Logger) {
        self.store = store
        self.configFile = configFile
        self.retention = retention
        self.pause = pause
        self.logger = logger
        self.owner = ProcessOwner(pid: getpid(), token: UUID().uuidString)
    }

    /// A changing request passed the gates: its scope (nothing is stored until it writes or is answered).
    public func begin(
        requestId: String, role: String?, tokenId: String?, tokenLabel: String?, method: String, route: String, target: String?
    ) -> AuditScope {
        AuditScope(trail: self, row: AuditRow(
            time: ISOTime.string(), requestId: requestId, role: role, tokenId: tokenId, tokenLabel: tokenLabel, method: method, route: route,
            target: target, owner: owner))
    }

    func save(_ row: inout AuditRow, settled: Bool) throws {
        let new = row.id == nil
        row.settled = settled
        try store.save(&row)
        if new { noteStored() }
    }

    // MARK: Recovery

    /// At start, before anything writes the agent config: every entry a killed plugind left unsettled is settled.
    /// A pending write whose hash is the file's happened (its changes are kept); one whose hash is not did not (its
    /// changes are dropped, and the entry with them when nothing else of it happened: no answer, no earlier write).
    /// An operation that was still running is `interrupted`; a request never answered keeps a null status.
    @discardableResult
    public func recoverInterrupted() throws -> (completed: Int, voided: Int) {
        let me = owner
        let orphans = try store.orphans { $0.isAlive(as: me) }
        guard !orphans.isEmpty else { return (0, 0) }
        let hash = configFile.currentHash()
        var completed = 0, voided = 0
        for var row in orphans {
            if let pending = row.pendingHash, pending == hash { row.changes += row.pendingChanges }
            let intentOnly = row.pendingHash != nil && row.pendingHash != hash && row.changes.isEmpty && row.status == nil
            row.pendingHash = nil
            row.pendingChanges = []
            if intentOnly, let id = row.id {
                try store.delete(id: id)
                voided += 1
                continue
            }
            if row.outcome == "running" { row.outcome = "interrupted" }
            row.settled = true
            try store.save(&row)
            completed += 1
        }
        logger.warning("settled audit entries a stop interrupted", metadata: ["completed": "\(completed)", "voided": "\(voided)"])
        return (completed, voided)
    }

    // MARK: Retention

    /// How many stored entries wake the pruner: a tenth of the limit, at most 100.
    var pruneEvery: Int { max(1, min(100, retention.maxEntries / 10)) }

    private func noteStored() {
        let due = stored.withLock { count -> Bool in
            count += 1
            guard count >= pruneEvery else { return false }
            count = 0
            return true
        }
        if due { wake.signal() }
    }

    /// Prunes on a thread of its own: now, after every `pruneEvery` entries stored, and hourly.
    public func startPruning() {
        let thread = Thread { [self] in
            while true {
                pruneNow()
                _ = wake.wait(timeout: .now() + .seconds(3600))
            }
        }
        thread.name = "audit-retention"
        thread.start()
    }

    /// Deletes entries older than the retention or beyond the newest `maxEntries`, in small transactions; answers
    /// how many went.
    @discardableResult
    public func pruneNow(now: Date = Date()) -> Int {
        let before = ISOTime.string(from: now.addingTimeInterval(-Double(retention.days) * 86_400))
        var total = 0
        while true {
            do {
                let removed = try store.prune(before: before, keep: retention.maxEntries, batch: Self.pruneBatch)
                total += removed
                if removed < Self.pruneBatch { break }
            } catch {
                logger.error("cannot prune the audit trail", metadata: ["error": "\(error)"])
                break
            }
        }
        return total
    }
}

extension AuditTrail: AgentConfigJournal {
    public func willWrite(from old: JSONObject, to new: JSONObject, hash: String) throws {
        guard let scope = AuditScope.current else { return }
        try scope.intend(hash: hash, changes: ConfigChanges.between(old, new, settingsOwner: scope.settingsOwner))
    }

    public func didWrite(_ replaced: Bool) {
        AuditScope.current?.written(replaced)
    }
}

extension AuditTrail: OperationObserver {
    /// Operations that change a plugin without a trace in the agent config, and the change kind they leave.
    static let fileless = ["eject": "ejected", "sync": "synced", "reinject": "reinjected"]

    public func operationStarted(id: String, kind: String, target: String) {
        AuditScope.current?.operationStarted(id: id)
    }

    public func operationFinished(id: String, kind: String, target: String, succeeded: Bool) {
        let extra = succeeded ? Self.fileless[kind].map { [ConfigChanges.change(target, $0, [])] } ?? [] : []
        AuditScope.current?.operationFinished(succeeded: succeeded, extra: extra)
    }
}
