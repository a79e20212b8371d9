import Foundation
import GRDB
import JSON

/// One entry of the audit trail in the database, column for column, with what the API never shows: the intent of a
/// config write not yet known to have happened (`pendingHash`, `pendingChanges`), whether the entry is settled (its
/// request answered and its operation, if any, finished) and the process that owns it while it is not.
public struct AuditRow: Sendable, Equatable {
    /// nil until first saved.
    public var id: Int64?
    /// When the request passed the gates (`ISOTime`, milliseconds, UTC).
    public var time: String
    public var requestId: String
    public var role: String?
    public var tokenId: String?
    public var tokenLabel: String?
    public var method: String
    public var route: String
    public var target: String?
    public var status: Int?
    /// What the request changed and is known to have happened (names, flags and versions only; each a JSON object).
    public var changes: [JSONValue]
    public var operationId: String?
    public var outcome: String?
    /// The SHA-256 (hex) of the agent config file a write is about to leave; nil when no write is in doubt.
    public var pendingHash: String?
    /// What that write changes, added to `changes` once it is known to have happened.
    public var pendingChanges: [JSONValue]
    public var settled: Bool
    public var owner: ProcessOwner

    public init(
        time: String, requestId: String, role: String?, tokenId: String?, tokenLabel: String?, method: String, route: String,
        target: String?, owner: ProcessOwner
    ) {
        self.time = time
        self.requestId = requestId
        self.role = role
        self.tokenId = tokenId
        self.tokenLabel = tokenLabel
        self.method = method
        self.route = route
        self.target = target
        self.changes = []
        self.pendingChanges = []
        self.settled = false
        self.owner = owner
    }

    /// The entry as `GET /api/audit` shows it.
    public var entry: AuditEntry {
        AuditEntry(
            id: id.map(String.init) ?? "", time: time, requestId: requestId, role: role, tokenId: tokenId, tokenLabel: tokenLabel,
            method: method, route: route, target: target, status: status, changes: changes, operationId: operationId, outcome: outcome)
    }

    /// Every name the entry is about (its target and each change's plugin), for the `plugin` filter.
    var subjects: Set<String> {
        var names = Set((changes + pendingChanges).compactMap { $0["plugin"]?.stringValue })
        if let target { names.insert(target) }
        return names
    }
}

/// An audit entry on the wire: every member in this order, nil as null.
public struct AuditEntry: Sendable, Equatable, Encodable {
    public var id: String
    public var time: String
    public var requestId: String
    public var role: String?
    public var tokenId: String?
    public var tokenLabel: String?
    public var method: String
    public var route: String
    public var target: String?
    public var status: Int?
    public var changes: [JSONValue]
    public var operationId: String?
    public var outcome: String?
}

/// The audit trail (table `auditEntry`, and `auditSubject`: which names each entry is about). Entries are written
/// whole on every change of theirs; a list is newest first, by time and then by id.
public struct AuditStore: Sendable {
    /// Where a page ends: the last entry's time and id.
    public struct Position: Sendable, Equatable {
        public let time: String
        public let id: Int64
        public init(time: String, id: Int64) {
            self.time = time
            self.id = id
        }
    }

    /// What `list` selects: `since` inclusive, `until` exclusive (times as `ISOTime` writes them), entries about any of
    /// `subjects` (none: all), after `position`.
    public struct Query: Sendable, Equatable {
        public var since: String?
        public var until: String?
        public var subjects: [String]
        public var limit: Int
        public var after: Position?

        public init(since: String? = nil, until: String? = nil, subjects: [String] = [], limit: Int = 50, after: Position? = nil) {
            self.since = since
            self.until = until
            self.subjects = subjects
            self.limit = limit
            self.after = after
        }
    }

    let db: StateDB

    public init(db: StateDB) {
        self.db = db
    }

    /// Inserts the row (its id is then set) or replaces it, with its subjects, in one transaction. A full disk is
    /// `StoreError.noSpace` (a change whose intent cannot be stored is refused with 507, like the write itself).
    public func save(_ row: inout AuditRow) throws {
        do {
            try insertOrUpdate(&row)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreError.noSpace(path: db.path)
        }
    }

    private func insertOrUpdate(_ row: inout AuditRow) throws {
        let saved = row
        row.id = try db.pool.write { db -> Int64 in
            let id: Int64
            let values: [(any DatabaseValueConvertible)?] = [
                saved.time, saved.requestId, saved.role, saved.tokenId, saved.tokenLabel, saved.method, saved.route, saved.target,
                saved.status, Self.text(saved.changes), saved.operationId, saved.outcome, saved.pendingHash, Self.text(saved.pendingChanges),
                saved.settled, saved.owner.pid, saved.owner.token,
            ]
            if let existing = saved.id {
                try db.execute(
                    sql: """
                        UPDATE auditEntry SET time = ?, requestId = ?, role = ?, tokenId = ?, tokenLabel = ?, method = ?, route = ?, target = ?,
                        status = ?, changes = ?, operationId = ?, outcome = ?, pendingHash = ?, pendingChanges = ?, settled = ?, ownerPid = ?,
                        ownerToken = ? WHERE id = ?
                        """, arguments: StatementArguments(values + [existing]))
                id = existing
                try db.execute(sql: "DELETE FROM auditSubject WHERE entryId = ?", arguments: [id])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO auditEntry (time, requestId, role, tokenId, tokenLabel, method, route, target, status, changes, operationId,
                        outcome, pendingHash, pendingChanges, settled, ownerPid, ownerToken) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: StatementArguments(values))
                id = db.lastInsertedRowID
            }
            for name in saved.subjects.sorted() {
                try db.execute(sql: "INSERT INTO auditSubject (entryId, name) VALUES (?, ?)", arguments: [id, name])
            }
            return id
        }
    }

    /// Removes an entry (an intent whose write never happened).
    public func delete(id: Int64) throws {
        try db.pool.write { db in try db.execute(sql: "DELETE FROM auditEntry WHERE id = ?", arguments: [id]) }
    }

    public func get(id: Int64) throws -> AuditRow? {
        try db.pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM auditEntry WHERE id = ?", arguments: [id]).map(Self.row) }
    }

    /// Newest first; an entry whose only write is still in doubt is left out until it is known to have happened.
    public func list(_ query: Query) throws -> (entries: [AuditEntry], next: Position?) {
        var conditions = ["NOT (pendingHash IS NOT NULL AND changes = '[]')"]
        var arguments: [any DatabaseValueConvertible] = []
        if let since = query.since {
            conditions.append("time >= ?")
            arguments.append(since)
        }
        if let until = query.until {
            conditions.append("time < ?")
            arguments.append(until)
        }
        if !query.subjects.isEmpty {
            conditions.append("id IN (SELECT entryId FROM auditSubject WHERE name IN (\(query.subjects.map { _ in "?" }.joined(separator: ", "))))")
            arguments += query.subjects
        }
        if let after = query.after {
            conditions.append("(time < ? OR (time = ? AND id < ?))")
            arguments += [after.time, after.time, after.id]
        }
        let sql = "SELECT * FROM auditEntry WHERE \(conditions.joined(separator: " AND ")) ORDER BY time DESC, id DESC LIMIT ?"
        arguments.append(query.limit + 1)
        let rows = try db.pool.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.row) }
        let page = rows.prefix(query.limit)
        let next = rows.count > query.limit ? page.last.map { Position(time: $0.time, id: $0.id ?? 0) } : nil
        return (page.map(\.entry), next)
    }

    /// Entries not settled whose owner is gone (plugind was killed while answering them).
    public func orphans(isAlive: (ProcessOwner) -> Bool) throws -> [AuditRow] {
        try db.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM auditEntry WHERE settled = 0 ORDER BY id").map(Self.row).filter { !isAlive($0.owner) }
        }
    }

    public func count() throws -> Int {
        try db.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM auditEntry") ?? 0 }
    }

    /// Deletes at most `batch` settled entries that are older than `before` or beyond the newest `keep`; answers how
    /// many went. Small batches, each its own short transaction, so requests never wait long for the database.
    public func prune(before: String, keep: Int, batch: Int) throws -> Int {
        try db.pool.write { db in
            var cutoff: Position?
            if let row = try Row.fetchOne(
                db, sql: "SELECT time, id FROM auditEntry ORDER BY time DESC, id DESC LIMIT 1 OFFSET ?", arguments: [keep])
            {
                cutoff = Position(time: row["time"], id: row["id"])
            }
            var sql = "SELECT id FROM auditEntry WHERE settled = 1 AND (time < ?"
            var arguments: [any DatabaseValueConvertible] = [before]
            if let cutoff {
                sql += " OR time < ? OR (time = ? AND id <= ?)"
                arguments += [cutoff.time, cutoff.time, cutoff.id]
            }
            sql += ") ORDER BY time, id LIMIT ?"
            arguments.append(batch)
            let ids = try Int64.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
            guard !ids.isEmpty else { return 0 }
            try db.execute(sql: "DELETE FROM auditEntry WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ", ")))", arguments: StatementArguments(ids))
            return ids.count
        }
    }

    static func text(_ changes: [JSONValue]) -> String { JSONWriter.compact(.array(changes)) }

    static func changes(_ text: String?) -> [JSONValue] {
        text.flatMap { try? JSONParser.parse(Array($0.utf8)) }?.arrayValue ?? []
    }

    static func row(_ row: Row) -> AuditRow {
        var audit = AuditRow(
            time: row["time"], requestId: row["requestId"], role: row["role"], tokenId: row["tokenId"], tokenLabel: row["tokenLabel"],
            method: row["method"], route: row["route"], target: row["target"], owner: ProcessOwner(pid: row["ownerPid"], token: row["ownerToken"]))
        audit.id = row["id"]
        audit.status = row["status"]
        audit.changes = changes(row["changes"])
        audit.operationId = row["operationId"]
        audit.outcome = row["outcome"]
        audit.pendingHash = row["pendingHash"]
        audit.pendingChanges = changes(row["pendingChanges"])
        audit.settled = row["settled"]
        return audit
    }

    /// The tables, created by `StateDB`'s migration.
    static func createTables(_ db: Database) throws {
        try db.create(table: "auditEntry") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("time", .text).notNull()
            t.column("requestId", .text).notNull()
            t.column("role", .text)
            t.column("tokenId", .text)
            t.column("tokenLabel", .text)
            t.column("method", .text).notNull()
            t.column("route", .text).notNull()
            t.column("target", .text)
            t.column("status", .integer)
            t.column("changes", .text).notNull().defaults(to: "[]")
            t.column("operationId", .text)
            t.column("outcome", .text)
            t.column("pendingHash", .text)
            t.column("pendingChanges", .text).notNull().defaults(to: "[]")
            t.column("settled", .boolean).notNull().defaults(to: false)
            t.column("ownerPid", .integer).notNull()
            t.column("ownerToken", .text).notNull()
        }
        try db.create(index: "auditEntry_time", on: "auditEntry", columns: ["time", "id"])
        try db.create(index: "auditEntry_target", on: "auditEntry", columns: ["target"])
        try db.create(index: "auditEntry_unsettled", on: "auditEntry", columns: ["settled"], condition: Column("settled") == false)
        try db.create(table: "auditSubject") { t in
            t.column("entryId", .integer).notNull().references("auditEntry", onDelete: .cascade)
            t.column("name", .text).notNull()
        }
        try db.create(index: "auditSubject_name", on: "auditSubject", columns: ["name", "entryId"])
        try db.create(index: "auditSubject_entry", on: "auditSubject", columns: ["entryId"])
    }
}
