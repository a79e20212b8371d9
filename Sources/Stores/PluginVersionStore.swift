import GRDB

/// The runtime's last verdict on each package, and the one previous version kept for each (its tree lives under
/// `plugins/.previous`, the installer's): what automatic and manual rollback decide from.
public struct PluginVersionStore: Sendable {
    let db: StateDB
    public init(db: StateDB) { self.db = db }

    /// A package's last verdict: `version` is the one that was installed when the runtime judged it.
    public struct Verdict: Sendable, Equatable {
        public let version: String?
        public let loaded: Bool
        public let error: String?
        public let at: String
    }

    /// The previous version of a package, as its install record said when it was replaced.
    public struct Kept: Sendable, Equatable, Codable {
        public let name: String
        public let version: String
        public let spec: String
        public let installPath: String
        public let installedAt: String?
        public let integrity: String?
        public let keptAt: String

        public init(name: String, version: String, spec: String, installPath: String, installedAt: String?, integrity: String?, keptAt: String = ISOTime.string()) {
            self.name = name
            self.version = version
            self.spec = spec
            self.installPath = installPath
            self.installedAt = installedAt
            self.integrity = integrity
            self.keptAt = keptAt
        }
    }

    public func recordVerdict(name: String, version: String?, loaded: Bool, error: String?) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO loadVerdict (name, version, loaded, error, at) VALUES (?, ?, ?, ?, ?)",
                arguments: [name, version, loaded, error, ISOTime.string()])
        }
    }

    public func verdict(_ name: String) throws -> Verdict? {
        try db.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT version, loaded, error, at FROM loadVerdict WHERE name = ?", arguments: [name]).map {
                Verdict(version: $0["version"], loaded: $0["loaded"], error: $0["error"], at: $0["at"])
            }
        }
    }

    public func verdicts() throws -> [String: Verdict] {
        try db.remembered("loadVerdict.all") { db in
            var result: [String: Verdict] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, version, loaded, error, at FROM loadVerdict") {
                result[row["name"]] = Verdict(version: row["version"], loaded: row["loaded"], error: row["error"], at: row["at"])
            }
            return result
        }
    }

    public func forgetVerdict(_ name: String) throws {
        try db.pool.write { db in try db.execute(sql: "DELETE FROM loadVerdict WHERE name = ?", arguments: [name]) }
    }

    public func keep(_ kept: Kept) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO keptVersion (name, version, spec, installPath, installedAt, integrity, keptAt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [kept.name, kept.version, kept.spec, kept.installPath, kept.installedAt, kept.integrity, kept.keptAt])
        }
    }

    public func kept(_ name: String) throws -> Kept? {
        try db.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM keptVersion WHERE name = ?", arguments: [name]).map(Self.kept(from:))
        }
    }

    /// Every kept version, oldest first.
    public func allKept() throws -> [Kept] {
        try db.remembered("keptVersion.all") { db in try Row.fetchAll(db, sql: "SELECT * FROM keptVersion ORDER BY keptAt, name").map(Self.kept(from:)) }
    }

    public func forgetKept(_ name: String) throws {
        try db.pool.write { db in try db.execute(sql: "DELETE FROM keptVersion WHERE name = ?", arguments: [name]) }
    }

    private static func kept(from row: Row) -> Kept {
        Kept(
            name: row["name"], version: row["version"], spec: row["spec"], installPath: row["installPath"], installedAt: row["installedAt"],
            integrity: row["integrity"], keptAt: row["keptAt"])
    }
}
