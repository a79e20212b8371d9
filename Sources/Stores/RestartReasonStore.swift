import GRDB

/// Reasons the agent must restart, deduplicated and kept across restarts of plugind.
public struct RestartReasonStore: Sendable {
    let db: StateDB
    public init(db: StateDB) { self.db = db }

    /// Adds a reason, or moves an existing one's time forward (a repeated change restarts the quiet period).
    public func add(_ reason: String) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "INSERT INTO restartReason (reason, addedAt) VALUES (?, ?) ON CONFLICT(reason) DO UPDATE SET addedAt = excluded.addedAt",
                arguments: [reason, ISOTime.string()])
        }
    }

    /// Adds `reason` in place of its opposite (enabled after disabled): the newest intent is the one that counts.
    public func replace(_ opposite: String, with reason: String) throws {
        try db.pool.write { db in
            try db.execute(sql: "DELETE FROM restartReason WHERE reason = ?", arguments: [opposite])
            try db.execute(
                sql: "INSERT INTO restartReason (reason, addedAt) VALUES (?, ?) ON CONFLICT(reason) DO UPDATE SET addedAt = excluded.addedAt",
                arguments: [reason, ISOTime.string()])
        }
    }

    /// Every pending reason with the time it was last added, oldest first.
    public func entries() throws -> [(reason: String, addedAt: String)] {
        try db.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT reason, addedAt FROM restartReason ORDER BY addedAt, reason").map { ($0["reason"], $0["addedAt"]) }
        }
    }

    /// Removes a reason unless it was added again after `before` (that change still needs a restart).
    public func remove(_ reason: String, addedNoLaterThan before: String) throws {
        try db.pool.write { db in
            try db.execute(sql: "DELETE FROM restartReason WHERE reason = ? AND addedAt <= ?", arguments: [reason, before])
        }
    }

    public func all() throws -> [String] {
        try db.pool.read { db in try String.fetchAll(db, sql: "SELECT reason FROM restartReason ORDER BY addedAt, reason") }
    }

    public func remove(_ reason: String) throws {
        try db.pool.write { db in try db.execute(sql: "DELETE FROM restartReason WHERE reason = ?", arguments: [reason]) }
    }

    public func clear() throws {
        try db.pool.write { db in try db.execute(sql: "DELETE FROM restartReason") }
    }
}
