import Foundation
import JSON
import Testing
@testable import Registry

/// Install records, runtime and catalogue as the caller would report them.
private let status: @Sendable (String) -> RegistryPluginStatus = { name in
    switch name {
    case "@elizaos/plugin-twitter": RegistryPluginStatus(installed: true, installedVersion: "1.2.0", loaded: true, bundled: false)
    case "@elizaos/plugin-openai": RegistryPluginStatus(bundled: true)
    default: .unknown
    }
}

/// One service over the real snapshot, shared by the tests that only read.
private let shared: (fixture: ServiceFixture, service: RegistryService) = {
    let fixture = try! ServiceFixture(["/generated-registry.json": .document(try! sharedBytes(realRegistryPath))])
    return (fixture, fixture.service())
}()

@Suite struct RegistryResponseTests {
    var service: RegistryService { shared.service }

    /// The list has the seed's fields for every plugin, with status from the caller.
    @Test func listShape() throws {
        let list = try wire(service.list(status: status))
        let plugins = try #require(list["plugins"]?.arrayValue)
        #expect(plugins.count == 290)
        let twitter = try #require(plugins.first { $0["name"] == "@elizaos/plugin-twitter" })
        #expect(twitter["displayName"] == "Twitter")
        #expect(twitter["id"] == "twitter")
        #expect(twitter["npm"] == ["package": "@elizaos/plugin-twitter", "version": "1.2.22", "v0Version": "0.1.9", "v1Version": "1.2.22", "v2Version": nil])
        #expect(twitter["installed"] == true && twitter["installedVersion"] == "1.2.0" && twitter["loaded"] == true && twitter["bundled"] == false)
        let openai = try #require(plugins.first { $0["name"] == "@elizaos/plugin-openai" })
        #expect(openai["bundled"] == true && openai["installed"] == false && openai["installedVersion"] == .null)
        #expect(openai["npm"] == ["package": "@elizaos/plugin-openai", "version": "1.6.0", "v0Version": "0.1.9", "v1Version": "1.6.0", "v2Version": "2.0.0-alpha.4"])
        for plugin in plugins {
            for key in ["name", "displayName", "description", "npm", "installed", "installedVersion", "loaded", "bundled"] {
                #expect(plugin[key] != nil, "\(key) missing")
            }
        }
    }

    /// `limit`, `offset` and `kind` page and filter; `count` is what was returned, `total` what matched.
    @Test func listPagingAndKind() throws {
        let page = try service.list(limit: 10, offset: 285)
        #expect(page.count == 5 && page.total == 290)
        let first = try service.list(limit: 2)
        #expect(first.plugins.map(\.name) == ["@bealers/plugin-mattermost", "@elizaos/adapter-mongodb"])
        let past = try service.list(offset: 1000)
        #expect(past.count == 0 && past.total == 290)
        let apps = try service.list(kind: "app")
        let appCount = apps.total
        #expect(appCount == 6)
        #expect(apps.plugins.allSatisfy { $0.kind == "app" })
        #expect(try service.list(kind: "APP").total == appCount)
        #expect(try service.list(kind: "nothing").total == 0)
        #expect(failure { try service.list(limit: 0) } == .badQuery("limit must be at least 1."))
        #expect(failure { try service.list(offset: -1) } == .badQuery("offset must be at least 0."))
    }

    /// Details by scoped name, unscoped name, short id, `@elizaos/<x>` and legacy capitals ignoring case.
    @Test func detailsResolution() throws {
        func name(_ text: String) throws -> String? { try service.details(text).plugin.listed.name }
        #expect(try name("@elizaos/plugin-twitter") == "@elizaos/plugin-twitter")
        #expect(try name("twitter") == "@elizaos/plugin-twitter")
        #expect(try name("plugin-octav") == "plugin-octav")
        #expect(try name("octav") == "plugin-octav")
        #expect(try name("adapter-postgres") == "@elizaos/adapter-postgres")
        #expect(try name("mattermost") == "@elizaos/plugin-mattermost")
        #expect(try name("@bealers/plugin-mattermost") == "@bealers/plugin-mattermost")
        #expect(try name("ATTPs") == "@elizaos/plugin-ATTPs")
        #expect(try name("attps") == "@elizaos/plugin-ATTPs")
        #expect(try name("@ElizaOS/Plugin-Discord") == "@elizaos/plugin-discord")
        #expect(failure { try service.details("no-such-plugin") } == .notFound("no-such-plugin"))
        #expect(RegistryError.notFound("x").description == "The plugin registry lists no plugin named 'x'.")
    }

    /// Details carry author, repository, tags, versions per channel, stars, kind and the raw fields eject needs.
    @Test func detailsShape() throws {
        let plugin = try #require(try wire(service.details("openai", status: status))["plugin"])
        #expect(plugin["author"] == "elizaos-plugins")
        #expect(plugin["repository"] == "https://github.com/elizaos-plugins/plugin-openai")
        #expect(plugin["versions"] == ["v0": "0.1.9", "v1": "1.6.0", "v2": "2.0.0-alpha.4"])
        #expect(plugin["supports"] == ["v0": true, "v1": true, "v2": true])
        #expect(plugin["channel"] == "v1")
        #expect(plugin["stars"] == 4)
        #expect(plugin["kind"] == "plugin")
        #expect(plugin["tags"] == [])
        #expect(plugin["git"]?["repo"] == "elizaos-plugins/plugin-openai")
        #expect(plugin["git"]?["v1"] == ["version": "v1.6.1", "branch": "1.x"])
        #expect(plugin["directory"] == .null)
        #expect(plugin["bundled"] == true)
        let entry = try service.resolve("openai")
        #expect(entry.channel("v1")?.gitBranch == "1.x")
        #expect(try service.entry(named: "@elizaos/plugin-openai")?.version == "1.6.0")
        #expect(try service.entry(named: "openai") == nil)
        #expect(service.isListed("@elizaos/plugin-openai") == true)
        #expect(service.isListed("@elizaos/plugin-nope") == false)
    }

    /// Search answers `{query, count, results}` with the seed's fields plus `installed` and a `score`.
    @Test func searchShape() throws {
        let response = try JSONParser.parse(service.search("twitter", limit: 3, status: status))
        #expect(response["query"] == "twitter")
        #expect(response["count"] == 3)
        let first = try #require(response["results"]?.arrayValue?.first)
        #expect(first["name"] == "@elizaos/plugin-twitter")
        #expect(first["npmPackage"] == "@elizaos/plugin-twitter")
        #expect(first["displayName"] == "Twitter")
        #expect(first["installed"] == true)
        #expect(first["score"] == 1)
        #expect(first["version"] != nil && first["description"] != nil)
        #expect(response.objectValue?.keys == ["query", "count", "results"])
        let keys = [
            "name", "id", "displayName", "description", "npmPackage", "version", "compatible", "compatibility", "kind", "tags", "stars", "repository", "installed", "loaded",
            "bundled", "score",
        ]
        #expect(response["results"]?.arrayValue?.allSatisfy { $0.objectValue?.keys == keys } == true)
        // The query is echoed as sent, escaped; results are still separated and closed properly.
        let echoed = try JSONParser.parse(service.search("twitter \"bot\"\\\u{1}", limit: 2, status: status))
        #expect(echoed["query"] == "twitter \"bot\"\\\u{1}")
        #expect(echoed["results"]?.arrayValue?.count == 2)
        let scores = response["results"]!.arrayValue!.compactMap { $0["score"]?.doubleValue }
        #expect(scores == scores.sorted(by: >) && scores.allSatisfy { $0 > 0 && $0 <= 1 })
    }

    /// Each result's `score` is its points over the best result's, rounded to thousandths and written as the shortest
    /// decimal (`0.5`, `0.333`, `1`), in the results' order, for queries whose results score differently.
    @Test func searchScoresAreRoundedThousandths() throws {
        let catalog = try service.snapshot().catalog
        var checked = 0
        for query in ["wallet", "solana", "twitter bot", "image generation", "discrod", "agent"] {
            let body = String(decoding: try service.search(query, limit: 50, status: status), as: UTF8.self)
            let written = body.split(separator: "\"score\":").dropFirst().map { String($0.prefix { $0 != "}" }) }
            let hits = catalog.search.search(query, limit: 50)
            let top = Double(hits[0].score)
            let expected = hits.map { hit -> String in
                let thousandths = Int((Double(hit.score) / top * 1000).rounded())
                if thousandths == 1000 { return "1" }
                var digits = String(thousandths)
                digits = String(repeating: "0", count: 3 - digits.count) + digits
                while digits.hasSuffix("0") { digits.removeLast() }
                return digits.isEmpty ? "0" : "0." + digits
            }
            #expect(written == expected, "\(query)")
            checked += Set(expected).count
        }
        #expect(checked > 20)
    }

    /// Search parameters: `q` required and bounded, `limit` default 15 clamped to 1...50, non-numeric refused.
    @Test func searchParameters() throws {
        #expect(failure { try service.search("") } == .badQuery("q is required: the words to search the plugin registry for."))
        #expect(failure { try service.search("   ") } != nil)
        #expect(failure { try service.search(String(repeating: "a", count: 257)) } != nil)
        #expect(try RegistryService.searchLimit(nil) == 15)
        #expect(try RegistryService.searchLimit("") == 15)
        #expect(try RegistryService.searchLimit("0") == 1)
        #expect(try RegistryService.searchLimit("7") == 7)
        #expect(try RegistryService.searchLimit("500") == 50)
        #expect(failure { try RegistryService.searchLimit("ten") } != nil)
        #expect(failure { try RegistryService.searchLimit("1.5") } != nil)
        #expect(try JSONParser.parse(service.search("plugin", limit: 500))["count"] == 50)
        #expect(try JSONParser.parse(service.search("a", limit: 0))["count"]?.intValue ?? 0 <= 1)
        #expect(try JSONParser.parse(service.search("zzqqxxkk"))["count"] == 0)
        let page = try RegistryService.page(limit: "5", offset: "10")
        #expect(page.limit == 5 && page.offset == 10)
        #expect(failure { try RegistryService.page(limit: "0", offset: nil) } != nil)
        #expect(failure { try RegistryService.page(limit: nil, offset: "x") } != nil)
    }

    /// Refresh answers `{ok, count, source}`.
    @Test func refreshShape() throws {
        let response = try wire(service.refresh())
        #expect(response["ok"] == true && response["count"] == 290)
        #expect(response["source"]?["skipped"] == 0)
    }
}

/// An answer as a client reads it.
private func wire(_ value: some Encodable) throws -> JSONValue { try JSONEncoding.value(value) }

@Suite struct RegistryAmbiguityTests {
    /// A name several entries end with, none of them `@elizaos/`, is ambiguous and lists the candidates.
    @Test func ambiguousName() throws {
        let document = #"{"registry": {"@a/plugin-foo": {"description": "a"}, "@b/plugin-foo": {"description": "b"}, "@elizaos/plugin-bar": {"description": "c"}, "@c/plugin-bar": {"description": "d"}}}"#
        let fixture = try ServiceFixture(["/generated-registry.json": .document(Array(document.utf8))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let error = failure { try service.details("foo") }
        #expect(error == .ambiguous("foo", candidates: ["@a/plugin-foo", "@b/plugin-foo"]))
        #expect(error?.description == "'foo' matches 2 registry plugins; use one of their npm names.")
        #expect(try service.details("bar").plugin.listed.name == "@elizaos/plugin-bar")
        #expect(try service.details("@c/plugin-bar").plugin.listed.id == "@c/plugin-bar")
        #expect(try service.details("@a/plugin-foo").plugin.listed.id == "@a/plugin-foo")
    }
}
