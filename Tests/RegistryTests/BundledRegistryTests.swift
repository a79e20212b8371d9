import Foundation
import JSON
import Stores
import Testing
@testable import Registry

private let real: [UInt8] = try! sharedBytes(realRegistryPath)

/// plugind's own catalogue as a registry document, as the composition root builds it (our own words).
private let bundled = BundledRegistry(
    origin: "/usr/share/plugind/plugins.json",
    document: Array(
        #"""
        {"registry": {
          "@elizaos/plugin-discord": {"displayName": "Discord", "description": "Lets the agent talk in Discord servers.", "kind": "plugin",
                                      "tags": ["connector"], "version": "2.0.0-alpha.4"},
          "@elizaos/plugin-openai": {"displayName": "OpenAI", "description": "Gives the agent OpenAI's models.", "kind": "plugin",
                                     "tags": ["ai-provider"], "version": "2.0.0-alpha.4"}
        }}
        """#.utf8))

/// Offline from the first second: with no copy cached and every upstream down, the registry answers from the
/// bundled catalogue (`source.kind: bundled`) instead of 503, and the first upstream copy replaces it.
@Suite(.serialized) struct BundledRegistryTests {
    /// Every upstream on a closed loopback port: list, search and details answer from the bundled snapshot.
    @Test func servesTheBundledCatalogueWhenNothingIsCachedAndUpstreamIsDown() throws {
        let fixture = try ServiceFixture()
        fixture.upstream.stop()
        let service = fixture.service(bundled: bundled)
        let list = try service.list()
        #expect(list.count == 2 && list.plugins.map(\.name) == ["@elizaos/plugin-discord", "@elizaos/plugin-openai"])
        #expect(list.source.kind == "bundled" && list.source.url == "/usr/share/plugind/plugins.json")
        #expect(list.plugins[1].displayName == "OpenAI" && list.plugins[1].npm.version == "2.0.0-alpha.4")
        // Why it is the bundled copy: one sentence naming the setting, the per-URL reasons beside it.
        let sentence = try #require(list.source.lastError)
        #expect(sentence.count <= 300 && sentence.contains("pluginRegistryUrls") && sentence.contains("2 tried"))
        #expect(!sentence.contains("127.0.0.1") && list.source.errors.count == 2)
        for (error, url) in zip(list.source.errors, fixture.standardURLs) {
            #expect(error.hasPrefix(url + ": ") && error.components(separatedBy: url).count == 2, "each URL said once: \(error)")
        }

        let search = try JSONParser.parse(service.search("discord"))
        #expect(search["results"]?.arrayValue?.first?["name"]?.stringValue == "@elizaos/plugin-discord")
        #expect(try service.details("openai").plugin.listed.name == "@elizaos/plugin-openai")
        // The bundled catalogue knows its own plugins; of others it cannot say the registry does not list them.
        #expect(service.isListed("@elizaos/plugin-openai") == true)
        #expect(service.isListed("@elizaos/plugin-twitter") == nil)
        #expect(service.cachedSnapshot() == nil)
    }

    /// A failed refresh says the bundled catalogue is served, never that a previous copy is.
    @Test func refreshFailureSaysTheBundledCatalogueIsServed() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .status(500), "/index.json": .status(404)])
        defer { fixture.upstream.stop() }
        let service = fixture.service(bundled: bundled)
        let error = failure { try service.refresh() }
        guard case .fetchFailed(_, let served)? = error else {
            Issue.record("expected fetchFailed, got \(String(describing: error))")
            return
        }
        #expect(served == .bundled)
        let message = error!.description
        #expect(message.contains("bundled catalogue") && !message.contains("previous copy") && !message.contains("still served"))
        #expect(message.count <= 300 && !message.contains("HTTP 500"))
        #expect(error!.details["details"]?.arrayValue?.count == 2)
        // Without a bundled catalogue there is nothing to serve, and the sentence says so.
        let bare = fixture.service(database: try temporaryDatabase().db)
        guard case .fetchFailed(_, .none)? = failure({ try bare.refresh() }) else {
            Issue.record("expected fetchFailed with nothing served")
            return
        }
    }

    /// Upstream back: the shared background retry replaces the bundled copy within seconds, reads never waiting for it.
    @Test func theFirstUpstreamCopyReplacesTheBundledOne() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .status(500), "/index.json": .status(404)])
        defer { fixture.upstream.stop() }
        let service = fixture.service(retryInterval: 3600, bundled: bundled)
        #expect(try service.list().source.kind == "bundled")
        fixture.upstream.set("/generated-registry.json", .document(real))
        fixture.clock.advance(Double(RegistryService.noCopyRetrySeconds) + 1)
        #expect(try service.list().source.kind == "bundled")  // answers at once, and starts the one retry
        service.waitForRefresh()
        let list = try service.list()
        #expect(list.source.kind == "upstream" && list.count == 290 && list.source.lastError == nil && list.source.errors.isEmpty)
        #expect(service.isListed("@elizaos/plugin-twitter") == true)
    }

    /// A document the parser cannot use leaves the service as it was without one: 503 with the reasons in `details`.
    @Test func anUnreadableBundledDocumentFallsBackTo503() throws {
        let fixture = try ServiceFixture()
        fixture.upstream.stop()
        let service = fixture.service(bundled: BundledRegistry(origin: "x", document: Array("[]".utf8)))
        guard case .noSnapshot(let upstream)? = failure({ try service.list() }) else {
            Issue.record("expected noSnapshot")
            return
        }
        #expect(upstream.details.count == 2)
    }
}
