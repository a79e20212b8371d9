import Foundation
import Testing
@testable import Stores

@Suite struct HeartbeatLeaseStoreTests {
    /// A live holder's lease is respected; stopping gives it up.
    @Test func liveLeaseIsRespectedAndReleased() throws {
        let store = HeartbeatLeaseStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
        let a = HeartbeatLeaseStore.LeaseOwner(pid: getpid(), token: "a")
        let b = HeartbeatLeaseStore.LeaseOwner(pid: getpid(), token: "b")
        let now = Date()
        #expect(try store.acquireLease(a, now: now, duration: 10))
        #expect(try !store.acquireLease(b, now: now.addingTimeInterval(5), duration: 10))
        #expect(try store.acquireLease(a, now: now.addingTimeInterval(5), duration: 10))
        #expect(try store.acquireLease(b, now: now.addingTimeInterval(16), duration: 10))
        try store.releaseLease(a)
        #expect(try store.leaseHolder()?.owner == b)
        try store.releaseLease(b)
        #expect(try store.leaseHolder() == nil)
    }

    /// A holder whose process is gone loses its lease before it expires; the new holder's expiry is stored exactly.
    @Test func deadHolderLosesTheLease() throws {
        let store = HeartbeatLeaseStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
        let ghost = HeartbeatLeaseStore.LeaseOwner(pid: Int32.max, token: "ghost")
        let me = HeartbeatLeaseStore.LeaseOwner(pid: getpid(), token: "me")
        let now = Date(timeIntervalSince1970: 1_770_000_000.25)
        #expect(try store.acquireLease(ghost, now: now, duration: 3600))
        #expect(try store.acquireLease(me, now: now.addingTimeInterval(1), duration: 10))
        let holder = try #require(try store.leaseHolder())
        #expect(holder.owner == me && holder.expiresAt == now.addingTimeInterval(11))
        try store.releaseLease(ghost)
        #expect(try store.leaseHolder()?.owner == me)
    }
}
