import Foundation
import GRDB
import JSON

/// One long-running change (install, eject, …) as the operations API shows it.
public struct OperationRecord: Sendable, Equatable {
    public enum State: String, Sendable {
        case running, succeeded, failed
    }
    public var id: String
    public var kind: String
    public var target: String
    public var state: State
    public var phase: String
    public var progress: Double?
    public var startedAt: String
    public var finishedAt: String?
    public var requestId: String?
    public var error: String?
    public var logTail: [String]
    public var result: JSONValue?
    /// What the operation had done when last recorded, for recovery after a crash.
    public var checkpoint: JSONValue?

    public init(id: String, kind: String, target: String, requestId: String?) {
        self.id = id
        self.kind = kind
        self.target = target
        self.state = .running
        self.phase = "starting"
        self.progress = nil
        self.startedAt = ISOTime.string()
        self.requestId = requestId
        self.logTail = []
    }

    public var json: JSONValue {
        [
            "id": .string(id), "kind": .string(kind), "target": .string(target), "state": .string(state.rawValue),
            "phase": .string(phase), "progress": progress.map { .number($0) } ?? .null, "startedAt": .string(startedAt),
            "finishedAt": .string(finishedAt), "requestId": .string(requestId), "error": .string(error),
            "logTail": .strings(logTail), "result": result ?? .null,
        ]
    }
}

/// The process that owns a running operation; recovery leaves live owners alone.
public struct OperationOwner: Sendable, Equatable {
    public let pid: Int32
    public let token: String
    public init(pid: Int32, token: String) {
        self.pid = pid
        self.token = token
    }
}

/// Operations in the database. Starting one is a single immediate transaction, so two processes
/// sharing the state directory cannot both start work on the same target.
public struct OperationStore: Sendable {
    public enum BeginOutcome: Sendable, Equatable {
        case started
        case duplicateId
        case busy(runningId: String)
    }

    let db: StateDB

    public init(db: StateDB) {
        self.db = db
    }

    public func begin(_ record: OperationRecord, owner: OperationOwner) throws -> BeginOutcome {
        try db.pool.writeWithoutTransaction { db in
            var outcome = BeginOutcome.started
            try db.inTransaction(.immediate) {
                if try Int.fetchOne(db, sql: "SELECT 1 FROM operation WHERE id = ?", arguments: [record.id]) != nil {
                    outcome = .duplicateId
                    return .commit
                }
                if let running = try String.fetchOne(
                    db, sql: "SELECT id FROM operation WHERE target = ? AND state = 'running' LIMIT 1", arguments: [record.target])
                {
                    outcome = .busy(runningId: running)
                    return .commit
                }
                try db.execute(
                    sql: """
                        INSERT INTO operation (id, kind, target, state, phase, progress, startedAt, requestId, logTail, ownerPid, ownerToken)
                        VALUES (?, ?, ?, 'running', ?, ?, ?, ?, '[]', ?, ?)
                        """,
                    arguments: [record.id, record.kind, record.target, record.phase, record.progress, record.startedAt, record.requestId, owner.pid, owner.token])
                return .commit
            }
            return outcome
        }
    }

    public func update(id: String, phase: String, progress: Double?, logTail: [String], checkpoint: JSONValue?) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "UPDATE operation SET phase = ?, progress = ?, logTail = ?, checkpoint = ? WHERE id = ?",
                arguments: [phase, progress, JSONWriter.compact(.strings(logTail)), checkpoint.map(JSONWriter.compact), id])
        }
    }

    public func finish(id: String, state: OperationRecord.State, phase: String, error: String?, result: JSONValue?, logTail: [String]) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "UPDATE operation SET state = ?, phase = ?, progress = CASE WHEN ? = 'succeeded' THEN 1.0 ELSE progress END, finishedAt = ?, error = ?, result = ?, logTail = ? WHERE id = ?",
                arguments: [state.rawValue, phase, state.rawValue, ISOTime.string(), error, result.map(JSONWriter.compact), JSONWriter.compact(.strings(logTail)), id])
        }
    }

    public func get(_ id: String) throws -> OperationRecord? {
        try db.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM operation WHERE id = ?", arguments: [id]).map(Self.record)
        }
    }

    /// Newest first.
    public func list(target: String? = nil, state: OperationRecord.State? = nil, limit: Int = 100) throws -> [OperationRecord] {
        try db.pool.read { db in
            var sql = "SELECT * FROM operation WHERE 1"
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let target { sql += " AND target = ?"; arguments.append(target) }
            if let state { sql += " AND state = ?"; arguments.append(state.rawValue) }
            sql += " ORDER BY startedAt DESC, rowid DESC LIMIT ?"
            arguments.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.record)
        }
    }

    /// Running operations whose owner is gone (crashed or killed).
    public func orphans(isAlive: (OperationOwner) -> Bool) throws -> [OperationRecord] {
        try db.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM operation WHERE state = 'running'").filter { row in
                !isAlive(OperationOwner(pid: row["ownerPid"], token: row["ownerToken"]))
            }.map(Self.record)
        }
    }

    static func record(_ row: Row) -> OperationRecord {
        var record = OperationRecord(id: row["id"], kind: row["kind"], target: row["target"], requestId: row["requestId"])
        record.state = OperationRecord.State(rawValue: row["state"]) ?? .failed
        record.phase = row["phase"]
        record.progress = row["progress"]
        record.startedAt = row["startedAt"]
        record.finishedAt = row["finishedAt"]
        record.error = row["error"]
        let tail: String = row["logTail"]
        record.logTail = (try? JSONParser.parse(tail))?.arrayValue?.compactMap(\.stringValue) ?? []
        record.result = (row["result"] as String?).flatMap { try? JSONParser.parse($0) }
        record.checkpoint = (row["checkpoint"] as String?).flatMap { try? JSONParser.parse($0) }
        return record
    }
}

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

