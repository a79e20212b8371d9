import Foundation
import GRDB
import JSON

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
