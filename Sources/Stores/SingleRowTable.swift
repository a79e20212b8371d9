import GRDB

/// The row of a table that keeps at most one row, id 1 (the registry cache, the agent registration).
/// Its times are Unix seconds in REAL columns.
protocol SingleRowRecord: Decodable, FetchableRecord, TableRecord, Sendable {}

extension SingleRowRecord {
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
}

/// A table that keeps at most one row, id 1. Reads decode the whole row; writes set named columns, so a
/// change to some columns neither reads nor rewrites the others (the registry document may be megabytes).
/// Every plugind process on the state directory shares the row.
struct SingleRowTable<Record: SingleRowRecord>: Sendable {
    private static var id: Int64 { 1 }

    let db: StateDB

    /// The row, or nil before anything was written.
    func load() throws -> Record? {
        try db.pool.read { db in try Record.fetchOne(db, key: Self.id) }
    }

    /// One column, without reading the others: nil when there is no row matching `condition`, or it holds NULL.
    func value<Value: DatabaseValueConvertible>(_ column: Column, as type: Value.Type, where condition: some SQLSpecificExpressible) throws -> Value? {
        try db.pool.read { db in try Record.filter(key: Self.id).filter(condition).select(column, as: Value.self).fetchOne(db) }
    }

    /// Sets columns, first creating the row (every other column NULL) when there is none. Times go in as
    /// `timeIntervalSince1970`, never as `Date` (which SQLite would get as text).
    func set(_ assignments: [ColumnAssignment]) throws {
        try db.pool.write { db in
            try db.execute(literal: "INSERT INTO \(Record.self) (id) VALUES (\(Self.id)) ON CONFLICT(id) DO NOTHING")
            _ = try Record.filter(key: Self.id).updateAll(db, assignments)
        }
    }

    /// Sets columns of the row only when there is one and it matches `condition`.
    func set(_ assignments: [ColumnAssignment], where condition: some SQLSpecificExpressible) throws {
        try db.pool.write { db in _ = try Record.filter(key: Self.id).filter(condition).updateAll(db, assignments) }
    }
}
