import Foundation
import GRDB

/// This agent's registration in the state database (table `agentRegistration`, one row). Every plugind
/// process on the state directory reads the same row, so status, secret and URI are shared and survive restarts.
public struct AgentRegistrationStore: Sendable {
    public struct Record: Sendable, Equatable {
        /// The registry the agent id belongs to.
        public var registryURL: String?
        public var agentId: String?
        public var secret: String?
        public var registeredAt: Date?
        /// Set by update-uri (or register with a URI); wins over the settings file.
        public var uri: String?
        public var lastSyncAt: Date?
        public var lastError: String?
        public var lastErrorAt: Date?
        public var nextSyncAt: Date?
    }

    let db: StateDB

    public init(db: StateDB) {
        self.db = db
    }

    public func load() throws -> Record {
        try db.pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agentRegistration WHERE id = 1") else { return Record() }
            return Record(
                registryURL: row["registryUrl"], agentId: row["agentId"], secret: row["secret"], registeredAt: Self.date(row["registeredAt"]),
                uri: row["uri"], lastSyncAt: Self.date(row["lastSyncAt"]), lastError: row["lastError"],
                lastErrorAt: Self.date(row["lastErrorAt"]), nextSyncAt: Self.date(row["nextSyncAt"]))
        }
    }

    /// A new registration replaces any earlier one; it counts as a sync (it carried the whole state).
    public func saveRegistration(
        registryURL: String, agentId: String, secret: String, uri: String?, at time: Date, nextSyncAt: Date?
    ) throws {
        try update(
            """
            registryUrl = ?, agentId = ?, secret = ?, registeredAt = ?, uri = COALESCE(?, uri), lastSyncAt = ?,
            lastError = NULL, lastErrorAt = NULL, nextSyncAt = ?
            """,
            [registryURL, agentId, secret, time.timeIntervalSince1970, uri, time.timeIntervalSince1970,
             nextSyncAt?.timeIntervalSince1970])
    }

    public func saveURI(_ uri: String) throws {
        try update("uri = ?", [uri])
    }

    /// The registry took the new URI: a success, so an earlier error is over.
    public func saveAcceptedURI(_ uri: String) throws {
        try update("uri = ?, lastError = NULL, lastErrorAt = NULL", [uri])
    }

    public func recordSync(at time: Date, nextSyncAt: Date?) throws {
        try update(
            "lastSyncAt = ?, lastError = NULL, lastErrorAt = NULL, nextSyncAt = ?",
            [time.timeIntervalSince1970, nextSyncAt?.timeIntervalSince1970])
    }

    public func recordFailure(_ message: String, at time: Date) throws {
        try update("lastError = ?, lastErrorAt = ?", [message, time.timeIntervalSince1970])
    }

    public func saveNextSync(_ date: Date?) throws {
        try update("nextSyncAt = ?", [date?.timeIntervalSince1970])
    }

    // MARK: Helpers

    private func update(_ assignments: String, _ arguments: [(any DatabaseValueConvertible)?]) throws {
        try db.pool.write { db in
            try db.execute(sql: "INSERT INTO agentRegistration (id) VALUES (1) ON CONFLICT(id) DO NOTHING")
            try db.execute(sql: "UPDATE agentRegistration SET \(assignments) WHERE id = 1", arguments: StatementArguments(arguments))
        }
    }

    private static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSince1970:))
    }
}
