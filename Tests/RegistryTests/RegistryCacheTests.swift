import Adapters
import Foundation
import JSON
import Stores
import Synchronization
import Testing
@testable import Registry


private let real: [UInt8] = try! sharedBytes(realRegistryPath)
private let index: [UInt8] = try! sharedBytes(realIndexPath)

@Suite(.serialized) struct RegistryCacheTests {
    enum FirstURLFault: String, CaseIterable, Sendable {
        case notFound, serverError, invalidJSON, timeout, deepNesting, wrongShape
    }

    /// When the generated registry fails (404, 500, invalid JSON, a timeout, hostile nesting, a wrong shape), `index.json` serves.
    @Test(arguments: FirstURLFault.allCases)
    func fallbackToIndex(fault: FirstURLFault) throws {
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 10_000)
        let behaviour: FakeUpstream.Behaviour = switch fault {
        case .notFound: .status(404)
        case .serverError: .status(500)
        case .invalidJSON: .document(Array("{\"registry\": {".utf8))
        case .timeout: .stall
        case .deepNesting: .document(deep)
        case .wrongShape: .document(Array(#"{"registry": 42}"#.utf8))
        }
        let fixture = try ServiceFixture(["/generated-registry.json": behaviour, "/index.json": .document(index)])
        defer { fixture.upstream.stop() }
        let service = fixture.service(timeout: .seconds(1))

        let list = try service.list()
        #expect(list.count == 292)
        #expect(list.source.url == fixture.upstream.url("/index.json"))
        #expect(list.source.format == "index")
        #expect(list.source.lastError == nil)
        #expect(fixture.upstream.requests("/generated-registry.json").count == 1)
    }

    /// The list count matches the snapshot's parseable entries, and the source says where it came from.
    @Test func listFromRealSnapshot() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let list = try fixture.service().list()
        #expect(list.count == 290)
        #expect(list.total == 290)
        #expect(list.source.url == fixture.upstream.url("/generated-registry.json"))
        #expect(list.source.skipped == 0)
        #expect(list.source.fetchedAt == ISOTime.string(from: fixture.clock.now))
        #expect(list.source.lastUpdatedAt == "2026-02-09T02:30:56.148Z")
    }

    /// A fresh snapshot is served without asking upstream again.
    @Test func freshSnapshotIsNotRefetched() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        _ = try service.list()
        fixture.clock.advance(3599)
        _ = try service.search("discord")
        _ = try service.details("discord")
        #expect(fixture.upstream.requests().count == 1)
    }

    /// A conditional request that answers `304` keeps the snapshot, refreshes `fetchedAt`, and counts as success.
    @Test func notModified() throws {
        let fixture = try ServiceFixture([
            "/generated-registry.json": .document(real, etag: "\"v1\"", lastModified: "Mon, 09 Feb 2026 02:30:56 GMT")
        ])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        _ = try service.list()
        fixture.clock.advance(7200)
        let refreshed = try service.refresh()
        #expect(refreshed.ok)
        #expect(refreshed.count == 290)
        #expect(refreshed.source.fetchedAt == ISOTime.string(from: fixture.clock.now))
        let requests = fixture.upstream.requests("/generated-registry.json")
        #expect(requests.count == 2)
        #expect(requests[0].header("If-None-Match") == nil)
        #expect(requests[1].header("If-None-Match") == "\"v1\"")
        #expect(requests[1].header("If-Modified-Since") == "Mon, 09 Feb 2026 02:30:56 GMT")
        // Fresh again: no further request.
        _ = try service.list()
        #expect(fixture.upstream.requests().count == 2)
        // A restart keeps the validators too.
        fixture.clock.advance(7200)
        let restarted = fixture.service()
        _ = try restarted.forceRefresh()
        #expect(fixture.upstream.requests("/generated-registry.json").last?.header("If-None-Match") == "\"v1\"")
    }

    /// `Last-Modified` alone makes the request conditional too.
    @Test func lastModifiedOnly() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real, lastModified: "Mon, 09 Feb 2026 02:30:56 GMT")])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        _ = try service.forceRefresh()
        let snapshot = try service.forceRefresh()
        #expect(snapshot.entries.count == 290)
        let requests = fixture.upstream.requests("/generated-registry.json")
        #expect(requests.count == 2 && requests[1].header("If-Modified-Since") == "Mon, 09 Feb 2026 02:30:56 GMT")
    }

    /// A stale snapshot is served at once while a background refresh runs; when it fails, the failure shows in `lastError`.
    @Test func staleOnError() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        _ = try service.list()
        fixture.upstream.set("/generated-registry.json", .slow(1.0, .status(500)))
        fixture.upstream.set("/index.json", .status(503))
        fixture.clock.advance(3601)

        let started = ContinuousClock.now
        let stale = try service.list()
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect(stale.count == 290)
        service.waitForRefresh()
        let after = try service.list()
        #expect(after.count == 290)
        let lastError = try #require(after.source.lastError)
        // One sentence naming the setting; the per-URL reasons are listed beside it, not in it.
        #expect(lastError.count <= 300 && lastError.contains("pluginRegistryUrls") && !lastError.contains("HTTP 500"))
        #expect(after.source.errors.count == 2)
        #expect(after.source.errors[0].contains("HTTP 500") && after.source.errors[1].contains("HTTP 503"))
        #expect(service.lastError == lastError)
        // Within the retry interval reads do not hammer upstream.
        let before = fixture.upstream.requests().count
        _ = try service.list()
        service.waitForRefresh()
        #expect(fixture.upstream.requests().count == before)
        // After it, a read tries again; a success clears the error.
        fixture.upstream.set("/generated-registry.json", .document(real))
        fixture.clock.advance(61)
        _ = try service.list()
        service.waitForRefresh()
        #expect(try service.list().source.lastError == nil)
    }

    /// A forced refresh that fails answers `fetchFailed` and keeps serving the old snapshot.
    @Test func refreshFailureKeepsSnapshot() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        #expect(try service.refresh().count == 290)
        fixture.upstream.set("/generated-registry.json", .status(502))
        let error = failure { try service.refresh() }
        guard case .fetchFailed(let failure, let served)? = error else {
            Issue.record("expected fetchFailed, got \(String(describing: error))")
            return
        }
        #expect(failure.details.count == 2 && failure.details[0].contains("HTTP 502") && failure.details[1].contains("HTTP 404"))
        #expect(served == .fetched(ISOTime.string(from: fixture.clock.now)))
        let message = error!.description
        #expect(message.contains("the copy fetched \(ISOTime.string(from: fixture.clock.now)) is still served"))
        #expect(message.count <= 300 && message.contains("pluginRegistryUrls") && !message.contains("HTTP 502"))
        #expect(error!.details["details"] == .strings(failure.details))
        let list = try service.list()
        #expect(list.count == 290)
        #expect(list.source.lastError == failure.sentence && list.source.errors == failure.details)
        #expect(try service.details("@elizaos/plugin-discord").plugin.listed.name == "@elizaos/plugin-discord")
    }

    /// When only the index answers, a full snapshot already held is kept rather than replaced by bare names.
    @Test func indexDoesNotReplaceFullSnapshot() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real), "/index.json": .document(index)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        _ = try service.refresh()
        fixture.upstream.set("/generated-registry.json", .status(500))
        guard case .fetchFailed(let failure, _)? = failure({ try service.refresh() }) else {
            Issue.record("expected fetchFailed")
            return
        }
        #expect(failure.summary.contains("only an index answered"))
        #expect(failure.details.last?.contains("/index.json") == true)
        #expect(try service.list().source.format == "full")
    }

    /// A new service over the same database (a restart of plugind) serves the stored snapshot with upstream down.
    @Test func snapshotSurvivesRestart() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real, etag: "\"e\"")])
        defer { fixture.upstream.stop() }
        _ = try fixture.service().list()
        fixture.upstream.stop()
        let asked = fixture.upstream.requests().count

        let reopened = try StateDB(path: fixture.databasePath)
        let restarted = fixture.service(database: reopened)
        let list = try restarted.list()
        #expect(list.count == 290)
        #expect(list.source.url == fixture.upstream.url("/generated-registry.json"))
        #expect(fixture.upstream.requests().count == asked, "served from the database, upstream not asked")
        #expect(try restarted.details("twitter").plugin.listed.name == "@elizaos/plugin-twitter")
        #expect(restarted.isListed("@elizaos/plugin-openai") == true)

        // Stale after a day: still served, the failed background refresh shows, and a later restart still has it.
        fixture.clock.advance(86_400)
        #expect(try restarted.list().count == 290)
        restarted.waitForRefresh()
        let reasons = restarted.lastFailure?.details.joined() ?? ""
        #expect(reasons.contains("cannot connect") || reasons.contains("timed out"))
        let again = fixture.service(database: try StateDB(path: fixture.databasePath))
        #expect(again.lastError == restarted.lastError && again.lastFailure == restarted.lastFailure)
        #expect(try again.list().count == 290)
    }

    /// No snapshot anywhere and upstream down: reads answer `noSnapshot` with the upstream's failure; refresh `fetchFailed`.
    @Test func noSnapshotAndUpstreamDown() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .status(500), "/index.json": .status(404)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        guard case .noSnapshot(let upstream)? = failure({ try service.list() }) else {
            Issue.record("expected noSnapshot")
            return
        }
        #expect(upstream.details[0].hasSuffix("/generated-registry.json: HTTP 500") && upstream.details[1].hasSuffix("/index.json: HTTP 404"))
        let sentence = RegistryError.noSnapshot(upstream).description
        #expect(sentence.count <= 300 && sentence.contains("2 tried") && sentence.contains("pluginRegistryUrls") && !sentence.contains("HTTP 500"))
        // Within the retry interval, reads fail at once without asking upstream again.
        let asked = fixture.upstream.requests().count
        #expect(failure { try service.search("discord") } == .noSnapshot(upstream))
        #expect(failure { try service.details("discord") } == .noSnapshot(upstream))
        #expect(failure { try service.entry(named: "@elizaos/plugin-discord") } == .noSnapshot(upstream))
        #expect(service.isListed("@elizaos/plugin-discord") == nil)
        #expect(fixture.upstream.requests().count == asked)
        // A forced refresh always asks.
        guard case .fetchFailed? = failure({ try service.refresh() }) else {
            Issue.record("expected fetchFailed")
            return
        }
        #expect(fixture.upstream.requests().count == asked + 2)
    }

    /// No copy and upstream back: a read a few seconds after the failed try answers 503 at once and starts one
    /// background retry that every reader shares; the reads after it are served, long before `retryInterval`.
    @Test func noCopyRetriesInTheBackgroundOnceUpstreamIsBack() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .status(500), "/index.json": .status(404)])
        defer { fixture.upstream.stop() }
        let service = fixture.service(retryInterval: 3600)
        guard case .noSnapshot? = failure({ try service.list() }) else {
            Issue.record("expected noSnapshot")
            return
        }
        #expect(RegistryError.noSnapshot(UpstreamFailure(summary: "x", details: [])).retryAfterSeconds == RegistryService.noCopyRetrySeconds)
        fixture.upstream.set("/generated-registry.json", .document(real))
        let asked = fixture.upstream.requests().count
        // Within a few seconds of the failure: no upstream request at all.
        fixture.clock.advance(Double(RegistryService.noCopyRetrySeconds) - 1)
        guard case .noSnapshot? = failure({ try service.list() }) else {
            Issue.record("expected noSnapshot")
            return
        }
        #expect(fixture.upstream.requests().count == asked)
        // Later: this read still answers at once, and starts the one retry.
        fixture.clock.advance(2)
        for _ in 0..<5 { _ = failure({ try service.list() }) }
        service.waitForRefresh()
        #expect(try service.list().count == 290)
        #expect(fixture.upstream.requests("/generated-registry.json").count == 2)
    }

    /// A 100 MB body without a length is refused at the size limit without exhausting memory; the next URL serves.
    @Test func hundredMegabyteBody() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .endless(100 << 20), "/index.json": .document(index)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let list = try service.list()
        #expect(list.source.format == "index")
        #expect(fixture.upstream.requests("/generated-registry.json").count == 1)

        fixture.upstream.set("/index.json", .status(404))
        guard case .fetchFailed(let failure, _)? = failure({ try service.refresh() }) else {
            Issue.record("expected fetchFailed")
            return
        }
        #expect(failure.details[0].contains("response larger than \(32 << 20) bytes"))
    }

    /// The document size limit holds whatever HTTP client the caller passes in.
    @Test func sizeLimitAppliesToTheClient() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let configuration = RegistryConfiguration(urls: [fixture.upstream.url("/generated-registry.json")], maxDocumentBytes: 1000)
        let service = RegistryService(configuration: configuration, client: HTTPClient(), database: fixture.database, logger: quietLogger)
        guard case .noSnapshot(let failure)? = failure({ try service.list() }) else {
            Issue.record("expected noSnapshot")
            return
        }
        #expect(failure.details[0].contains("larger than 1000 bytes"))
    }

    /// Concurrent refreshes (forced and background alike) share one upstream fetch.
    @Test func concurrentRefreshesShareOneFetch() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .slow(0.5, .document(real))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let results = Mutex<[Int]>([])
        let group = DispatchGroup()
        for i in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                let count = i % 2 == 0 ? (try? service.forceRefresh().entries.count) : (try? service.list().count)
                results.withLock { $0.append(count ?? -1) }
                group.leave()
            }
        }
        group.wait()
        #expect(results.withLock { $0 } == Array(repeating: 290, count: 8))
        #expect(fixture.upstream.requests().count == 1)
    }

    /// A second plugind process on the same database picks up the first one's fetch instead of fetching again.
    @Test func sharedDatabaseAvoidsRefetch() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let first = fixture.service()
        let second = fixture.service(database: try StateDB(path: fixture.databasePath))
        #expect(second.cachedSnapshot() == nil)
        _ = try first.list()
        fixture.clock.advance(10)
        #expect(try second.list().count == 290)
        #expect(fixture.upstream.requests().count == 1)
    }

    /// Warming up fetches in the background when there is no fresh copy, and requests meanwhile join that fetch.
    @Test func warmUp() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .slow(0.3, .document(real))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let started = ContinuousClock.now
        service.warmUp()
        #expect(ContinuousClock.now - started < .milliseconds(200))
        #expect(try service.list().count == 290)
        service.warmUp()
        service.waitForRefresh()
        #expect(fixture.upstream.requests().count == 1)
        // A restart with a fresh stored copy does not fetch.
        let restarted = fixture.service(database: try StateDB(path: fixture.databasePath))
        restarted.warmUp()
        restarted.waitForRefresh()
        #expect(restarted.cachedSnapshot()?.entries.count == 290)
        #expect(fixture.upstream.requests().count == 1)
    }

    /// The stamp changes when the snapshot or the last error changes, and not otherwise.
    @Test func stamp() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(real)])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let first = service.stamp()
        #expect(service.stamp() == first)
        fixture.upstream.set("/generated-registry.json", .status(500))
        _ = try? service.refresh()
        let failed = service.stamp()
        #expect(failed != first)
        fixture.upstream.set("/generated-registry.json", .document(real))
        _ = try service.refresh()
        #expect(service.stamp() != failed)
    }
}
