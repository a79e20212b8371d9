import GRDB

/// Reasons the agent must restart, deduplicated and kept across restarts of plugind.
public struct RestartReasonStore: Sendable {
    let db: StateDB
    public init(db: StateDB) { self.db = db }

    /// Adds a reason, or moves an existing one's time forward (a repeated change restarts the quiet period).
    public func add(_ reason: String) throws {
        try db.pool.write { db in try RestartReason(reason: reason, addedAt: ISOTime.string()).upsert(db) }
    }

    /// Adds `reason` in place of its opposite (enabled after disabled): the newest intent is the one that counts.
    public func replace(_ opposite: String, with reason: String) throws {
        try db.pool.write { db in
            _ = try RestartReason.deleteOne(db, key: opposite)
            try RestartReason(reason: reason, addedAt: ISOTime.string()).upsert(db)
        }
    }

    /// Every pending reason with the time it was last added, oldest first.
    public func entries() throws -> [(reason: String, addedAt: String)] {
        try db.remembered("restartReason.entries") { db in try RestartReason.oldestFirst.fetchAll(db).map { ($0.reason, $0.addedAt) } }
    }

    /// Removes a reason unless it was added again after `before` (that change still needs a restart).
    public func remove(_ reason: String, addedNoLaterThan before: String) throws {
        try db.pool.write { db in
            _ = try RestartReason.filter(key: reason).filter(RestartReason.Columns.addedAt <= before).deleteAll(db)
        }
    }

    public func all() throws -> [String] {
        try db.remembered("restartReason.all") { db in try RestartReason.oldestFirst.select(RestartReason.Columns.reason, as: String.self).fetchAll(db) }
    }

    public func remove(_ reason: String) throws {
        try db.pool.write { db in _ = try RestartReason.deleteOne(db, key: reason) }
    }

    public func clear() throws {
        try db.pool.write { db in _ = try RestartReason.deleteAll(db) }
    }
}

/// A row of table `restartReason`.
private struct RestartReason: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "restartReason"

    var reason: String
    var addedAt: String

    enum CodingKeys: String, CodingKey {
        case reason, addedAt
    }

    enum Columns {
        static let reason = Column(CodingKeys.reason)
        static let addedAt = Column(CodingKeys.addedAt)
    }

    static let oldestFirst = order(Columns.addedAt, Columns.reason)
}
