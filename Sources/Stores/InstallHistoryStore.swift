import GRDB

/// What was installed when, with which integrity: the database half of an install's commit.
public struct InstallHistoryStore: Sendable {
    let db: StateDB
    public init(db: StateDB) { self.db = db }

    public func record(name: String, version: String, integrity: String?, operationId: String) throws {
        let entry = InstallHistoryEntry(
            name: name, version: version, integrity: integrity, installedAt: ISOTime.string(), operationId: operationId)
        try db.pool.write { db in try entry.insert(db) }
    }

    /// The integrity of each installed `name@version` (the newest install of that version wins).
    /// One row per `name@version` from SQLite (a bare column beside `MAX` comes from the row holding the maximum),
    /// not every install ever recorded decoded here: `GET /api/plugins/installed` asks on every request.
    public func integrities() throws -> [String: String] {
        try db.remembered("installHistory.integrities") { db in
            var result: [String: String] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT name, version, integrity, MAX(id) FROM installHistory WHERE integrity IS NOT NULL GROUP BY name, version")
            while let row = try rows.next() {
                let name: String = row[0], version: String = row[1], integrity: String = row[2]
                result[name + "@" + version] = integrity
            }
            return result
        }
    }

    /// The recorded integrity of one version, or nil when that version has no history row.
    public func integrity(name: String, version: String) throws -> String? {
        typealias Columns = InstallHistoryEntry.Columns
        return try db.pool.read { db in
            try InstallHistoryEntry.filter(Columns.name == name && Columns.version == version).order(Columns.id.desc)
                .select(Columns.integrity, as: String.self).fetchOne(db)
        }
    }
}

/// A row of table `installHistory`; `id` counts installs in the order they were recorded.
private struct InstallHistoryEntry: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "installHistory"

    var id: Int64?
    var name: String
    var version: String
    var integrity: String?
    var installedAt: String
    var operationId: String?

    enum CodingKeys: String, CodingKey {
        case id, name, version, integrity, installedAt, operationId
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let name = Column(CodingKeys.name)
        static let version = Column(CodingKeys.version)
        static let integrity = Column(CodingKeys.integrity)
    }
}
