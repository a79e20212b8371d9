import Foundation
import GRDB
import Glibc

/// The heartbeat lease in the state database (table `agentHeartbeatLease`, one row): which plugind process
/// sends the agent registry's heartbeats, until when. Every process on the state directory competes for it.
public struct HeartbeatLeaseStore: Sendable {
    /// The plugind process, and the agent registry service in it, that holds the lease.
    public typealias LeaseOwner = ProcessOwner

    let db: StateDB

    public init(db: StateDB) {
        self.db = db
    }

    /// Takes or renews the lease for `owner` until `now + duration`. Succeeds when nobody holds it, `owner`
    /// already does, it expired, or its holder's process is gone; fails while another live holder has it.
    public func acquireLease(_ owner: LeaseOwner, now: Date, duration: TimeInterval) throws -> Bool {
        try db.pool.writeWithoutTransaction { db in
            var acquired = false
            try db.inTransaction(.immediate) {
                if let lease = try Lease.fetchOne(db, key: Lease.onlyId) {
                    if lease.owner != owner, lease.expiresAt > now, ProcessOwner.isAlive(lease.ownerPid) { return .commit }
                }
                try Lease(owner: owner, expiresAt: now.addingTimeInterval(duration)).upsert(db)
                acquired = true
                return .commit
            }
            return acquired
        }
    }

    /// Gives the lease up, if `owner` holds it, so another process takes over at once.
    public func releaseLease(_ owner: LeaseOwner) throws {
        typealias Columns = Lease.Columns
        try db.pool.write { db in
            _ = try Lease.filter(key: Lease.onlyId).filter(Columns.ownerPid == owner.pid && Columns.ownerToken == owner.token).deleteAll(db)
        }
    }

    /// The current holder, if any (tests and diagnostics).
    public func leaseHolder() throws -> (owner: LeaseOwner, expiresAt: Date)? {
        try db.pool.read { db in try Lease.fetchOne(db, key: Lease.onlyId) }.map { ($0.owner, $0.expiresAt) }
    }

}

/// The row of table `agentHeartbeatLease`. Its expiry is in Unix seconds.
private struct Lease: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "agentHeartbeatLease"
    static let onlyId: Int64 = 1

    var id = Lease.onlyId
    var ownerPid: Int32
    var ownerToken: String
    var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case id, ownerPid, ownerToken, expiresAt
    }

    enum Columns {
        static let ownerPid = Column(CodingKeys.ownerPid)
        static let ownerToken = Column(CodingKeys.ownerToken)
    }

    static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
    static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy { .timeIntervalSince1970 }

    init(owner: HeartbeatLeaseStore.LeaseOwner, expiresAt: Date) {
        ownerPid = owner.pid
        ownerToken = owner.token
        self.expiresAt = expiresAt
    }

    var owner: HeartbeatLeaseStore.LeaseOwner { .init(pid: ownerPid, token: ownerToken) }
}
