import Foundation
import JSON
import Stores
import TestSupport
import Testing
@testable import AgentRegistry

/// Timing-based, so the bounds are generous and the suite runs one test at a time.
@Suite(.serialized) struct HeartbeatLoopTests {
    /// With autoRegister on, the loop registers at start and then sends heartbeats at the configured interval.
    @Test func heartbeatsArriveAtTheInterval() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(autoRegister: true, publicURI: "https://agent.example.com", intervalMs: 200)
        service.start()
        #expect(eventually(within: 3) { fixture.registry.registrations.count == 1 })
        let start = fixture.registry.heartbeats.count
        Thread.sleep(forTimeInterval: 1.6)
        let count = fixture.registry.heartbeats.count - start
        service.stop()
        // About 8 at 200 ms; far fewer means no loop, far more means no schedule.
        #expect((3...12).contains(count), "heartbeats in 1.6 s: \(count)")
        #expect(fixture.registry.registrations.count == 1)
        let status = try service.status()
        #expect(status.registered == true)
        #expect(status.nextSyncAt != nil)
        #expect(status.lastError == nil)
        #expect(Set(fixture.registry.heartbeats.map(\.agentId)) == [status.agentId!])
    }

    /// With autoRegister off, the loop never registers; once a request registers, the heartbeats start.
    @Test func noRegistrationWithoutAutoRegister() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(autoRegister: false, publicURI: "https://agent.example.com", intervalMs: 200)
        service.start()
        defer { service.stop() }
        Thread.sleep(forTimeInterval: 0.6)
        #expect(fixture.registry.requests.isEmpty)
        #expect(try service.status().nextSyncAt == nil)
        _ = try service.register()
        #expect(eventually(within: 3) { fixture.registry.heartbeats.count >= 2 })
    }

    /// While the registry fails the loop backs off (fewer attempts than the interval would make), and it recovers by itself.
    @Test func backsOffAndRecovers() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(
            autoRegister: true, publicURI: "https://agent.example.com", intervalMs: 200, retryBaseMs: 400, retryCapMs: 800)
        _ = try service.register()
        fixture.registry.set(.failing(500))
        service.start()
        defer { service.stop() }
        Thread.sleep(forTimeInterval: 2.4)
        let attempts = fixture.registry.refusedCalls
        // Every 200 ms would be 12; backing off (200–400, then 400–800 ms) allows about 5.
        #expect((1...8).contains(attempts), "attempts while failing: \(attempts)")
        let failing = try service.status()
        #expect(failing.lastError?.contains("HTTP 500") == true)
        #expect(failing.registered == true)

        fixture.registry.set(.normal)
        #expect(eventually(within: 3) { !fixture.registry.heartbeats.isEmpty })
        #expect(eventually(within: 3) { fixture.registry.heartbeats.count >= 4 })
        #expect(try service.status().lastError == nil)
        #expect(fixture.registry.registrations.count == 1)
    }

    /// A registry's `Retry-After` lengthens the wait after a failure.
    @Test func honoursRetryAfter() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(publicURI: "https://agent.example.com", intervalMs: 200, retryBaseMs: 100, retryCapMs: 3000)
        _ = try service.register()
        fixture.registry.set(.failing(503, retryAfter: 1))
        service.start()
        defer { service.stop() }
        Thread.sleep(forTimeInterval: 1.5)
        let attempts = fixture.registry.refusedCalls
        // Backing off from 100 ms alone would make about 6 attempts; waiting a second after each allows 2.
        #expect((1...3).contains(attempts), "attempts: \(attempts)")
        let next = try #require(try service.status().nextSyncAt)
        #expect(next > ISOTime.string(from: Date().addingTimeInterval(-0.1)))
    }

    /// A failing registration at start is retried with back-off until the registry accepts it.
    @Test func autoRegistrationRetries() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        fixture.registry.set(.failing(503, retryAfter: 0))
        let service = fixture.service(autoRegister: true, publicURI: "https://agent.example.com", intervalMs: 200, retryBaseMs: 100, retryCapMs: 300)
        service.start()
        defer { service.stop() }
        #expect(eventually(within: 3) { fixture.registry.refusedCalls >= 2 })
        #expect(try service.status().registered == false)
        #expect(try service.status().lastError?.contains("HTTP 503") == true)
        fixture.registry.set(.normal)
        #expect(eventually(within: 3) { fixture.registry.registrations.count == 1 && fixture.registry.heartbeats.count >= 1 })
        #expect(try service.status().registered == true)
    }

    /// When the registry answers 404 for the agent, the loop registers again and carries on with the new id.
    @Test func registersAgainAfter404() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(autoRegister: true, publicURI: "https://agent.example.com", intervalMs: 200)
        service.start()
        defer { service.stop() }
        #expect(eventually(within: 3) { fixture.registry.heartbeats.count >= 1 })
        let first = try service.status().agentId
        fixture.registry.forgetAll()
        // The fake counts the registration before plugind has stored its answer.
        #expect(try eventually(within: 3) { try service.status().agentId != first })
        #expect(fixture.registry.registrations.count == 2)
        let second = try service.status().agentId
        #expect(second == fixture.registry.agentIds.first!)
        #expect(eventually(within: 3) { fixture.registry.heartbeats.contains { $0.agentId == second } })
        #expect(try service.status().lastError == nil)
    }

    /// Two services on one state database (two processes) send one heartbeat stream; when its sender stops, the other takes over.
    @Test func oneHeartbeatStreamPerStateDirectory() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let first = fixture.service(autoRegister: true, publicURI: "https://agent.example.com", intervalMs: 200, name: "first")
        let second = fixture.service(
            autoRegister: true, publicURI: "https://agent.example.com", intervalMs: 200, name: "second", database: try fixture.reopenedDatabase())
        first.start()
        second.start()
        Thread.sleep(forTimeInterval: 1.6)
        let heartbeats = fixture.registry.heartbeats
        #expect(fixture.registry.registrations.count == 1)
        let senders = Set(heartbeats.compactMap(\.name))
        #expect(senders.count == 1, "senders: \(senders)")
        #expect(heartbeats.count <= 12, "two streams would send about 16: \(heartbeats.count)")
        #expect(heartbeats.count >= 3)

        let (holder, other) = senders.first == "first" ? (first, second) : (second, first)
        let otherName = senders.first == "first" ? "second" : "first"
        holder.stop()
        #expect(eventually(within: 3) { fixture.registry.heartbeats.contains { $0.name == otherName } })
        other.stop()
        #expect(Set(fixture.registry.heartbeats.map(\.agentId)).count == 1)
    }

    /// A lease left by a process that is gone is taken over at once, not after it expires.
    @Test func aDeadHoldersLeaseIsTakenOver() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let store = HeartbeatLeaseStore(db: fixture.database)
        let ghost = HeartbeatLeaseStore.LeaseOwner(pid: Int32.max, token: "ghost")
        #expect(try store.acquireLease(ghost, now: Date(), duration: 3600))
        let service = fixture.service(publicURI: "https://agent.example.com", intervalMs: 200)
        _ = try service.register()
        service.start()
        defer { service.stop() }
        #expect(eventually(within: 3) { fixture.registry.heartbeats.count >= 1 })
        #expect(try store.leaseHolder()?.owner == service.owner)
    }
}
