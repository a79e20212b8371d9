import Adapters
import Foundation
import Stores
import Testing
import TestSupport
@testable import Registry

/// The registry cache's TTL, told by fixed clocks: each service sees one moment, the database carries the snapshot
/// between them (as it does between plugind processes), and nothing sleeps.
@Suite struct RegistryClockTests {
    static let fetched = Date(timeIntervalSince1970: 1_800_000_000)

    func service(_ fixture: ServiceFixture, at moment: Date) -> RegistryService {
        RegistryService(
            configuration: RegistryConfiguration(urls: fixture.standardURLs, ttl: 600, retryInterval: 60),
            dependencies: .init(client: HTTPClient(), database: fixture.database, clock: FixedClock(moment), logger: quietLogger))
    }

    /// A snapshot younger than the TTL is served as it is; one older is served at once while it is fetched again,
    /// and the new one is stamped with the clock's time.
    @Test func aSnapshotExpiresWhenTheClockPassesItsTTL() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(try sharedBytes(realRegistryPath))])
        defer { fixture.upstream.stop() }

        let first = service(fixture, at: Self.fetched)
        #expect(try first.list().source.fetchedAt == ISOTime.string(from: Self.fetched))
        #expect(fixture.upstream.requests().count == 1)

        // One second before it expires: fresh, no request.
        let fresh = service(fixture, at: Self.fetched.addingTimeInterval(599))
        #expect(try fresh.list().source.fetchedAt == ISOTime.string(from: Self.fetched))
        fresh.waitForRefresh()
        #expect(fixture.upstream.requests().count == 1)

        // One second after: the stale snapshot answers, and a refresh replaces it.
        let later = Self.fetched.addingTimeInterval(601)
        let stale = service(fixture, at: later)
        #expect(try stale.list().source.fetchedAt == ISOTime.string(from: Self.fetched))
        stale.waitForRefresh()
        #expect(fixture.upstream.requests().count == 2)
        #expect(try stale.list().source.fetchedAt == ISOTime.string(from: later))
    }
}
