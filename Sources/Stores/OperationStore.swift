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

    /// Changes whenever the operations may have (`StateDB.changeStamp()`): an answer built from the operations is
    /// current while this stays the same; it is taken before reading them.
    public func changeStamp() -> String { db.changeStamp().description }

    public func begin(_ record: OperationRecord, owner: OperationOwner) throws -> BeginOutcome {
        return try db.pool.writeWithoutTransaction { db in
            var outcome = BeginOutcome.started
            try db.inTransaction(.immediate) {
                if try OperationRow.exists(db, key: record.id) {
                    outcome = .duplicateId
                    return .commit
                }
                let running = OperationRow.running.filter(OperationRow.Columns.target == record.target)
                if let runningId = try running.select(OperationRow.Columns.id, as: String.self).fetchOne(db) {
                    outcome = .busy(runningId: runningId)
                    return .commit
                }
                try OperationRow(starting: record, owner: owner).insert(db)
                return .commit
            }
            return outcome
        }
    }

    public func update(id: String, phase: String, progress: Double?, logTail: [String], checkpoint: JSONValue?) throws {
        typealias Columns = OperationRow.Columns
        try db.pool.write { db in
            _ = try OperationRow.filter(key: id).updateAll(db, [
                Columns.phase.set(to: phase), Columns.progress.set(to: progress),
                Columns.logTail.set(to: OperationRow.text(logTail)), Columns.checkpoint.set(to: checkpoint.map(JSONWriter.compact)),
            ])
        }
    }

    /// Records how an operation ended; `result` is its answer as JSON text, encoded once by the caller.
    public func finish(id: String, state: OperationRecord.State, phase: String, error: String?, result: [UInt8]?, logTail: [String]) throws {
        typealias Columns = OperationRow.Columns
        var assignments = [
            Columns.state.set(to: state.rawValue), Columns.phase.set(to: phase), Columns.finishedAt.set(to: ISOTime.string()),
            Columns.error.set(to: error), Columns.result.set(to: result.map { String(decoding: $0, as: UTF8.self) }),
            Columns.logTail.set(to: OperationRow.text(logTail)),
        ]
        // A success is complete whatever the last reported progress; a failure keeps where it stopped.
        if state == .succeeded { assignments.append(Columns.progress.set(to: 1.0)) }
        try db.pool.write { db in
            _ = try OperationRow.filter(key: id).updateAll(db, assignments)
        }
    }

    public func get(_ id: String) throws -> OperationRecord? {
        try db.pool.read { db in try OperationRow.fetchOne(db, key: id)?.record }
    }

    /// Newest first.
    public func list(target: String? = nil, state: OperationRecord.State? = nil, limit: Int = 100) throws -> [OperationRecord] {
        typealias Columns = OperationRow.Columns
        var request = OperationRow.all()
        if let target { request = request.filter(Columns.target == target) }
        if let state { request = request.filter(Columns.state == state.rawValue) }
        request = request.order(Columns.startedAt.desc, Column.rowID.desc).limit(limit)
        return try db.pool.read { db in try request.fetchAll(db).map(\.record) }
    }

    /// Running operations whose owner is gone (crashed or killed).
    public func orphans(isAlive: (OperationOwner) -> Bool) throws -> [OperationRecord] {
        try db.pool.read { db in
            try OperationRow.running.fetchAll(db).filter { !isAlive($0.owner) }.map(\.record)
        }
    }
}

/// A row of table `operation`, column for column. The log tail, result and checkpoint are JSON text.
private struct OperationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "operation"

    var id: String
    var kind: String
    var target: String
    var state: String
    var phase: String
    var progress: Double?
    var startedAt: String
    var finishedAt: String?
    var requestId: String?
    var error: String?
    var logTail: String
    var result: String?
    var ownerPid: Int32
    var ownerToken: String
    var checkpoint: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, target, state, phase, progress, startedAt, finishedAt, requestId, error, logTail, result
        case ownerPid, ownerToken, checkpoint
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let target = Column(CodingKeys.target)
        static let state = Column(CodingKeys.state)
        static let phase = Column(CodingKeys.phase)
        static let progress = Column(CodingKeys.progress)
        static let startedAt = Column(CodingKeys.startedAt)
        static let finishedAt = Column(CodingKeys.finishedAt)
        static let error = Column(CodingKeys.error)
        static let logTail = Column(CodingKeys.logTail)
        static let result = Column(CodingKeys.result)
        static let checkpoint = Column(CodingKeys.checkpoint)
    }

    static let running = filter(Columns.state == OperationRecord.State.running.rawValue)

    /// The row that starts `record`: running, with an empty log and nothing to report yet.
    init(starting record: OperationRecord, owner: OperationOwner) {
        id = record.id
        kind = record.kind
        target = record.target
        state = OperationRecord.State.running.rawValue
        phase = record.phase
        progress = record.progress
        startedAt = record.startedAt
        requestId = record.requestId
        logTail = "[]"
        ownerPid = owner.pid
        ownerToken = owner.token
    }

    var owner: OperationOwner { OperationOwner(pid: ownerPid, token: ownerToken) }

    var record: OperationRecord {
        var record = OperationRecord(id: id, kind: kind, target: target, requestId: requestId)
        record.state = OperationRecord.State(rawValue: state) ?? .failed
        record.phase = phase
        record.progress = progress
        record.startedAt = startedAt
        record.finishedAt = finishedAt
        record.error = error
        record.logTail = (try? JSONParser.parse(logTail))?.arrayValue?.compactMap(\.stringValue) ?? []
        record.result = result.flatMap { try? JSONParser.parse($0) }
        record.checkpoint = checkpoint.flatMap { try? JSONParser.parse($0) }
        return record
    }

    static func text(_ logTail: [String]) -> String {
        JSONWriter.compact(.strings(logTail))
    }
}
