import Foundation
import GRDB
import Glibc
import Stores

/// This agent's registration in the state database (table `agentRegistration`, one row) and the heartbeat
/// lease (table `agentHeartbeatLease`, one row). Every plugind process on the state directory reads the
/// same rows, so status, secret and URI are shared and survive restarts.
struct AgentRegistrationStore: Sendable {
    struct Record: Sendable, Equatable {
        /// The registry the agent id belongs to.
        var registryURL: String?
        var agentId: String?
        var secret: String?
        var registeredAt: Date?
        /// Set by update-uri (or register with a URI); wins over the settings file.
        var uri: String?
        var lastSyncAt: Date?
        var lastError: String?
        var lastErrorAt: Date?
        var nextSyncAt: Date?

        /// The credentials, when they belong to `registryURL`: an id from another registry means nothing here.
        func credentials(for registryURL: String) -> AgentRegistryClient.Credentials? {
            guard self.registryURL == registryURL, let agentId, let secret else { return nil }
            return AgentRegistryClient.Credentials(agentId: agentId, secret: secret)
        }
    }

    /// One plugind process (pid) and one service instance in it (token).
    struct LeaseOwner: Sendable, Equatable {
        let pid: Int32
        let token: String
    }

    let db: StateDB

    func load() throws -> Record {
        try db.pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agentRegistration WHERE id = 1") else { return Record() }
            return Record(
                registryURL: row["registryUrl"], agentId: row["agentId"], secret: row["secret"], registeredAt: Self.date(row["registeredAt"]),
                uri: row["uri"], lastSyncAt: Self.date(row["lastSyncAt"]), lastError: row["lastError"],
                lastErrorAt: Self.date(row["lastErrorAt"]), nextSyncAt: Self.date(row["nextSyncAt"]))
        }
    }

    /// A new registration replaces any earlier one; it counts as a sync (it carried the whole state).
    func saveRegistration(
        registryURL: String, credentials: AgentRegistryClient.Credentials, uri: String?, at time: Date, nextSyncAt: Date?
    ) throws {
        try update(
            """
            registryUrl = ?, agentId = ?, secret = ?, registeredAt = ?, uri = COALESCE(?, uri), lastSyncAt = ?,
            lastError = NULL, lastErrorAt = NULL, nextSyncAt = ?
            """,
            [registryURL, credentials.agentId, credentials.secret, time.timeIntervalSince1970, uri, time.timeIntervalSince1970,
             nextSyncAt?.timeIntervalSince1970])
    }

    func saveURI(_ uri: String) throws {
        try update("uri = ?", [uri])
    }

    /// The registry took the new URI: a success, so an earlier error is over.
    func saveAcceptedURI(_ uri: String) throws {
        try update("uri = ?, lastError = NULL, lastErrorAt = NULL", [uri])
    }

    func recordSync(at time: Date, nextSyncAt: Date?) throws {
        try update(
            "lastSyncAt = ?, lastError = NULL, lastErrorAt = NULL, nextSyncAt = ?",
            [time.timeIntervalSince1970, nextSyncAt?.timeIntervalSince1970])
    }

    func recordFailure(_ message: String, at time: Date) throws {
        try update("lastError = ?, lastErrorAt = ?", [message, time.timeIntervalSince1970])
    }

    func saveNextSync(_ date: Date?) throws {
        try update("nextSyncAt = ?", [date?.timeIntervalSince1970])
    }

    // MARK: The heartbeat lease

    /// Takes or renews the lease for `owner` until `now + duration`. Succeeds when nobody holds it, `owner`
    /// already does, it expired, or its holder's process is gone; fails while another live holder has it.
    func acquireLease(_ owner: LeaseOwner, now: Date, duration: TimeInterval) throws -> Bool {
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
    func releaseLease(_ owner: LeaseOwner) throws {
        try db.pool.write { db in
            try db.execute(
                sql: "DELETE FROM agentHeartbeatLease WHERE id = 1 AND ownerPid = ? AND ownerToken = ?", arguments: [owner.pid, owner.token])
        }
    }

    /// The current holder, if any (tests and diagnostics).
    func leaseHolder() throws -> (owner: LeaseOwner, expiresAt: Date)? {
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
