import Foundation
import GRDB
import Glibc

/// This agent's registration in the state database (table `agentRegistration`, one row) and the heartbeat
/// lease (table `agentHeartbeatLease`, one row). Every plugind process on the state directory reads the
/// same rows, so status, secret and URI are shared and survive restarts.
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

    /// One plugind process (pid) and one service instance in it (token).
    public struct LeaseOwner: Sendable, Equatable {
        public let pid: Int32
        public let token: String

        public init(pid: Int32, token: String) {
            self.pid = pid
            self.token = token
        }
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

    // MARK: The heartbeat lease

    /// Takes or renews the lease for `owner` until `now + duration`. Succeeds when nobody holds it, `owner`
    /// already does, it expired, or its holder's process is gone; fails while another live holder has it.
    public func acquireLease(_ owner: LeaseOwner, now: Date, duration: TimeInterval) throws -> Bool {
        try db.pool.writeWithoutTransaction { db in
            var acquired = false
            try db.inTransaction(.immediate) {
                if let row = try Row.fetchOne(db, sql: "SELECT ownerPid, ownerToken, expiresAt FROM agentHeartbeatLease WHERE id = 1") {
                    let holder = LeaseOwner(pid: row["ownerPid"], token: row["ownerToken"])
                    let expiresAt: Double = row["expiresAt"]
                    if holder != owner, expiresAt > now.timeIntervalSince1970, Self.isAlive(holder.pid) { return .commit }
                }
                try db.execute(
                    sql: """
                        INSERT INTO agentHeartbeatLease (id, ownerPid, ownerToken, expiresAt) VALUES (1, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET ownerPid = excluded.ownerPid, ownerToken = excluded.ownerToken, expiresAt = excluded.expiresAt
                        """,
                    arguments: [owner.pid, owner.token, now.timeIntervalSince1970 + duration])
                acquired = true
                return .commit
            }
            return acquired
        }
    }

    /// Gives the lease up, if `owner` holds it, so another process takes over at once.
    public func releaseLease(_ owner: LeaseOwner) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "DELETE FROM agentHeartbeatLease WHERE id = 1 AND ownerPid = ? AND ownerToken = ?", arguments: [owner.pid, owner.token])
        }
    }

    /// The current holder, if any (tests and diagnostics).
    public func leaseHolder() throws -> (owner: LeaseOwner, expiresAt: Date)? {
        try db.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT ownerPid, ownerToken, expiresAt FROM agentHeartbeatLease WHERE id = 1").map {
                (LeaseOwner(pid: $0["ownerPid"], token: $0["ownerToken"]), Date(timeIntervalSince1970: $0["expiresAt"]))
            }
        }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
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
