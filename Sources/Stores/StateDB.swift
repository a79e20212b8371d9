import Foundation
import GRDB
import Locking
import Synchronization

/// The SQLite database under the state directory: operations, restart reasons, install history, the registry
/// cache, the agent registration and its heartbeat lease, each behind its own store in this folder. Every table is
/// migrated here. WAL mode, so readers never wait for writers.
public final class StateDB: Sendable {
    public let path: String
    public let pool: DatabasePool
    /// Counts the commits of this process's writer (a transaction observer counts them before the writing call
    /// returns). With the database files' stamps it makes `changeStamp()`.
    private let commits = CommitCounter()
    /// What `remembered` read, per question, with the stamp it was read under.
    private let rememberedReads = ReadMostly<[String: RememberedRead]>([:])

    /// A value read from the database and the `changeStamp()` taken before it was read.
    private struct RememberedRead: @unchecked Sendable {
        let stamp: ChangeStamp
        /// Always a `Sendable` value (`remembered` takes only those); the existential is not.
        let value: Any
    }

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 16
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        pool.add(transactionObserver: commits, extent: .databaseLifetime)
        try chmod0600(path)
        try Self.migrator.migrate(pool)
        let check = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
        guard check == "ok" else { throw StoreError.corrupt(path: path, detail: check ?? "no answer") }
    }

    private func chmod0600(_ path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            _ = Foundation.chmod(path + suffix, 0o600)
        }
    }

    /// Changes whenever the database may have: after each commit by this process (counted before the writing call
    /// returns), and after any commit by another process sharing the state directory (the database files'
    /// stamps, which the inotify cache answers without a `stat`). A value read from the database is current while
    /// this stays the same, when it was taken before the read.
    public struct ChangeStamp: Equatable, Sendable, CustomStringConvertible {
        let commits: UInt64
        let database: FileStamp?
        let log: FileStamp?

        public var description: String {
            "\(commits)|\(database?.description ?? "none")|\(log?.description ?? "none")"
        }
    }

    public func changeStamp() -> ChangeStamp {
        ChangeStamp(commits: commits.count, database: FileStamp.current(path), log: FileStamp.current(path + "-wal"))
    }

    /// `read`'s answer to the question named `key`, read again only after the database changed (`changeStamp()`).
    ///
    /// The routes a dashboard polls (the installed list, the runtime's state) ask the same few questions on every
    /// request. Each read through the pool takes GRDB's pool lock three times, a dispatch queue with barriers; with
    /// sixteen workers on two cores a worker preempted inside it held the others up, and under config writes those
    /// waits made up most of the slowest answers.
    public func remembered<T: Sendable>(_ key: String, _ read: (Database) throws -> T) throws -> T {
        let stamp = changeStamp()
        if let hit = rememberedReads.read({ $0[key] }), hit.stamp == stamp, let value = hit.value as? T { return value }
        let value = try pool.read(read)
        rememberedReads.write { reads in
            // A reader that took an older stamp and finished later must not replace a newer answer.
            if let kept = reads[key], kept.stamp.commits > stamp.commits { return }
            reads[key] = RememberedRead(stamp: stamp, value: value)
        }
        return value
    }

    /// Whether the database answers a trivial query.
    public func isUsable() -> Bool {
        (try? pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: operations and restart reasons") { db in
            try db.create(table: "operation") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull()
                t.column("target", .text).notNull()
                t.column("state", .text).notNull()
                t.column("phase", .text).notNull()
                t.column("progress", .double)
                t.column("startedAt", .text).notNull()
                t.column("finishedAt", .text)
                t.column("requestId", .text)
                t.column("error", .text)
                t.column("logTail", .text).notNull().defaults(to: "[]")
                t.column("result", .text)
                t.column("ownerPid", .integer).notNull()
                t.column("ownerToken", .text).notNull()
                t.column("checkpoint", .text)
            }
            try db.create(index: "operation_target_state", on: "operation", columns: ["target", "state"])
            try db.create(index: "operation_startedAt", on: "operation", columns: ["startedAt"])
            try db.create(table: "restartReason") { t in
                t.primaryKey("reason", .text)
                t.column("addedAt", .text).notNull()
            }
        }
        migrator.registerMigration("installs: history") { db in
            try db.create(table: "installHistory") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().indexed()
                t.column("version", .text).notNull()
                t.column("integrity", .text)
                t.column("installedAt", .text).notNull()
                t.column("operationId", .text)
            }
        }
        migrator.registerMigration("v2: registry cache") { db in
            // One row (id 1): the last good plugin registry document as fetched, and how the last fetch went.
            try db.create(table: "registryCache") { t in
                t.primaryKey("id", .integer)
                t.column("document", .blob)
                t.column("format", .text)
                t.column("url", .text)
                t.column("fetchedAt", .double)
                t.column("etag", .text)
                t.column("lastModified", .text)
                t.column("lastError", .text)
                t.column("lastErrorAt", .double)
            }
        }
        migrator.registerMigration("secrets: retired") { db in
            try db.create(table: "retiredSecret") { t in
                t.primaryKey("value", .text)
                t.column("retiredAt", .text).notNull()
            }
        }
        migrator.registerMigration("secrets: retired ones in memory only") { db in
            // Overwritten, not just unlinked from the b-tree: a deleted row's bytes would stay in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "DELETE FROM retiredSecret")
            try db.drop(table: "retiredSecret")
        }
        migrator.registerMigration("agent registry: registration and lease") { db in
            // One row (id 1): this agent's registration with the agent registry (the secret is stored like the
            // database's other secrets, in this 0600 file) and how the last exchange went. Times are Unix seconds.
            try db.create(table: "agentRegistration") { t in
                t.primaryKey("id", .integer)
                t.column("registryUrl", .text)
                t.column("agentId", .text)
                t.column("secret", .text)
                t.column("registeredAt", .double)
                t.column("uri", .text)
                t.column("lastSyncAt", .double)
                t.column("lastError", .text)
                t.column("lastErrorAt", .double)
                t.column("nextSyncAt", .double)
            }
            // One row (id 1): the plugind process that sends heartbeats, until the lease expires.
            try db.create(table: "agentHeartbeatLease") { t in
                t.primaryKey("id", .integer)
                t.column("ownerPid", .integer).notNull()
                t.column("ownerToken", .text).notNull()
                t.column("expiresAt", .double).notNull()
            }
        }
        migrator.registerMigration("installs: load verdicts and kept versions") { db in
            // The runtime's last verdict per package (after an install, upgrade, sync or rollback).
            try db.create(table: "loadVerdict") { t in
                t.primaryKey("name", .text)
                t.column("version", .text)
                t.column("loaded", .boolean).notNull()
                t.column("error", .text)
                t.column("at", .text).notNull()
            }
            // The one previous version kept per package (its tree under plugins/.previous), for a rollback.
            try db.create(table: "keptVersion") { t in
                t.primaryKey("name", .text)
                t.column("version", .text).notNull()
                t.column("spec", .text).notNull()
                t.column("installPath", .text).notNull()
                t.column("installedAt", .text)
                t.column("integrity", .text)
                t.column("keptAt", .text).notNull()
            }
        }
        migrator.registerMigration("audit: the trail of changing requests") { db in
            try AuditStore.createTables(db)
        }
        return migrator
    }
}

/// Failures of the stores, each with a sentence a person can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    /// The database failed its integrity check.
    case corrupt(path: String, detail: String)
    /// The agent config file is not strict JSON (JSON5, `$include`, or broken); plugind will not rewrite it.
    case configUnparsable(path: String, reason: String)
    /// The agent config file could not be read or written.
    case configIO(path: String, reason: String)
    /// The state directory's file system is full.
    case noSpace(path: String)

    public var description: String {
        switch self {
        case .corrupt(let path, let detail): "The database \(path) failed its integrity check (\(detail)); restore it from a backup."
        case .configUnparsable(let path, let reason): "The agent config \(path) is not strict JSON (\(reason)); plugind will not rewrite it. Fix or convert it by hand."
        case .configIO(let path, let reason): "The agent config \(path) could not be read or written: \(reason)."
        case .noSpace(let path): "No space left on the device holding \(path)."
        }
    }
}

/// Counts commits on the writer connection; observes no changes, only the ends of transactions.
private final class CommitCounter: TransactionObserver, Sendable {
    private let commits = Atomic<UInt64>(0)

    var count: UInt64 { commits.load(ordering: .acquiring) }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) { commits.add(1, ordering: .releasing) }
    func databaseDidRollback(_ db: Database) {}
}
