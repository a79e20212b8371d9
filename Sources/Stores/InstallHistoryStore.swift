import GRDB

/// What was installed when, with which integrity: the database half of an install's commit.
public struct InstallHistoryStore: Sendable {
    let db: StateDB
    public init(db: StateDB) { self.db = db }

    public func record(name: String, version: String, integrity: String?, operationId: String) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "INSERT INTO installHistory (name, version, integrity, installedAt, operationId) VALUES (?, ?, ?, ?, ?)",
                arguments: [name, version, integrity, ISOTime.string(), operationId])
        }
    }

    /// The integrity of each installed `name@version` (the newest install of that version wins).
    public func integrities() throws -> [String: String] {
        try db.pool.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, version, integrity FROM installHistory ORDER BY rowid") {
                if let integrity: String = row["integrity"] {
                    let name: String = row["name"]
                    let version: String = row["version"]
                    result[name + "@" + version] = integrity
                }
            }
            return result
        }
    }

    /// The recorded integrity of one version, or nil when that version has no history row.
    public func integrity(name: String, version: String) throws -> String? {
        try db.pool.read { db in
            try String.fetchOne(db, sql: "SELECT integrity FROM installHistory WHERE name = ? AND version = ? ORDER BY rowid DESC LIMIT 1", arguments: [name, version])
        }
    }
}
