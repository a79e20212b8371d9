import Foundation
import JSON
import TestWorld
import Testing

@testable import API

/// The plugin list, one plugin, its configuration, its check and the core plugins, in-process.
@Suite struct PluginRouteTests {
    let world: World
    init() throws { world = try World() }

    /// The list carries Milady's catalogue and the installed plugins; its ETag answers 304 when nothing changed.
    @Test func listAndNotModified() {
        let answer = world.check("GET /plugins", "/plugins", 200, token: .read)
        let ids = answer.json["plugins"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(ids.contains(World.installed.id) && ids.count >= 99)
        let etag = try? #require(answer.header("ETag"))
        world.check("GET /plugins", "/plugins", 304, token: .read, headers: ["if-none-match": etag ?? ""])
    }

    /// A filtered list holds exactly the whole list's entries of that category or enabled state, in order, and one
    /// plugin's details are its entry in the list (all three are cut from one encoding of the entries); after a
    /// change, every one of them shows it.
    @Test func filteredListsAndDetailsAreTheListsEntries() throws {
        func list(_ query: String = "") -> [JSONValue] {
            world.check("GET /plugins", "/plugins\(query)", 200, token: .read).json["plugins"]?.arrayValue ?? []
        }
        func checkAgreement() {
            let all = list()
            #expect(all.count >= 99)
            let categories = Set(all.compactMap { $0["category"]?.stringValue })
            #expect(categories.count > 1)
            for category in categories {
                #expect(list("?category=\(category)") == all.filter { $0["category"]?.stringValue == category }, "\(category)")
                #expect(list("?category=\(category)&enabled=true") == all.filter { $0["category"]?.stringValue == category && $0["enabled"] == true })
            }
            for flag in [true, false] { #expect(list("?enabled=\(flag)") == all.filter { $0["enabled"] == .bool(flag) }) }
            #expect(list("?category=no-such-category").isEmpty)
            for entry in all {
                let id = entry["id"]?.stringValue ?? ""
                // A scoped package's id is its npm name: the slash travels encoded.
                let details = world.send("GET", "/plugins/" + id.replacingOccurrences(of: "/", with: "%2F"), token: .read)
                #expect(details.status == 200 && details.json == .object(["plugin": entry]), "\(id)")
            }
        }
        checkAgreement()
        let before = list().first { $0["id"]?.stringValue == World.installed.id }
        let flipped = !(before?["enabled"]?.boolValue ?? false)
        world.check("PUT /plugins/:id", "/plugins/\(World.installed.id)", 200, json: ["enabled": .bool(flipped)])
        #expect(list().first { $0["id"]?.stringValue == World.installed.id }?["enabled"] == .bool(flipped))
        #expect(world.send("GET", "/plugins/\(World.installed.id)", token: .read).json["plugin"]?["enabled"] == .bool(flipped))
        checkAgreement()
    }

    /// A list built from the one before copies the entries that did not change and encodes the others: byte for byte
    /// the list encoded afresh, after a change to one plugin's setting and after one to a key several plugins share.
    @Test func aListReusingTheOneBeforeIsTheListEncodedAfresh() throws {
        let service = world.wiring.plugins
        var before = try EncodedPluginList(service.keyedEntries(stamp: service.stamp()))
        // A plain text setting that several plugins declare.
        let parameters = try service.list().plugins.flatMap { plugin in plugin.parameters.map { (plugin.id, $0) } }
        let textKeys = parameters.filter { $0.1.type == "string" && $0.1.options == nil && !$0.1.sensitive }.map(\.1.key)
        let shared = try #require(Dictionary(grouping: textKeys, by: { $0 }).first { $0.value.count > 1 }?.key)
        let declaring = try #require(parameters.first { $0.1.key == shared }?.0)
        for (id, key) in [(World.installed.id, "ANTHROPIC_SMALL_MODEL"), (declaring, shared)] {
            world.check("PUT /plugins/:id", "/plugins/\(id)", 200, json: ["config": .object([key: .string("changed-by-the-test")])])
            let entries = try service.keyedEntries(stamp: service.stamp())
            let reused = try EncodedPluginList(entries, reusing: before)
            let fresh = try EncodedPluginList(entries)
            // Compared first, so a failure names the change rather than printing two lists byte by byte.
            let (sameAsFresh, changed) = (reused.body == fresh.body, reused.body != before.body)
            #expect(sameAsFresh, "after a change of \(key) of \(id)")
            #expect(changed, "after a change of \(key) of \(id)")
            let detailsDiffer = entries.map(\.key).filter { reused.details($0) != fresh.details($0) }
            #expect(detailsDiffer.isEmpty, "after a change of \(key) of \(id)")
            before = reused
        }
    }

    /// A filter value that is not true or false is refused.
    @Test func listRefusesABadFilter() {
        #expect(world.send("GET", "/plugins?enabled=maybe", token: .read).status == 400)
    }

    /// One plugin by its short id; an unknown id is 404 and an ambiguous one 409 with the candidates.
    @Test func getOne() {
        let answer = world.check("GET /plugins/:id", "/plugins/\(World.installed.id)", 200, token: .read)
        #expect(answer.json["plugin"]?["npmName"]?.stringValue == World.installed.npm || answer.json["npmName"]?.stringValue == World.installed.npm)
        world.check("GET /plugins/:id", "/plugins/no-such-plugin", 404, token: .read)
        let twin = world.check("GET /plugins/:id", "/plugins/twin", 409, token: .read)
        #expect(twin.json["candidates"]?.arrayValue?.count == 2)
        let etag = answer.header("ETag") ?? ""
        world.check("GET /plugins/:id", "/plugins/\(World.installed.id)", 304, token: .read, headers: ["if-none-match": etag])
    }

    /// A configuration change is written to the agent config; the answer never shows a secret unmasked.
    @Test func updateWritesTheConfig() {
        let answer = world.check("PUT /plugins/:id", "/plugins/\(World.installed.id)", 200, json: ["config": ["ANTHROPIC_API_KEY": "sk-ant-secret-value-1234567890"]])
        #expect(!answer.text.contains("sk-ant-secret-value-1234567890"))
        #expect(world.agentConfig.text.contains("sk-ant-secret-value-1234567890"))
    }

    /// Unknown, ambiguous, a core plugin disabled, and a value of the wrong kind: each refused, the config unchanged.
    @Test func updateRefusals() {
        let before = world.agentConfig
        world.check("PUT /plugins/:id", "/plugins/no-such-plugin", 404, json: ["enabled": true])
        world.check("PUT /plugins/:id", "/plugins/twin", 409, json: ["enabled": true])
        world.check("PUT /plugins/:id", "/plugins/sql", 409, json: ["enabled": false])
        world.check("PUT /plugins/:id", "/plugins/\(World.installed.id)", 422, json: ["config": ["ANTHROPIC_API_KEY": ["not", "a", "string"]]])
        world.check("PUT /plugins/:id", "/plugins/\(World.installed.id)", 400, json: ["enabled": "yes"])
        #expect(world.agentConfig == before)
    }

    /// The plugin's check runs in the runtime; a plugin the runtime has not loaded is 409.
    @Test func testRunsTheCheck() {
        let answer = world.check("POST /plugins/:id/test", "/plugins/\(World.installed.id)/test", 200)
        #expect(answer.json["ok"] == true)
        world.check("POST /plugins/:id/test", "/plugins/\(World.ejectable.id)/test", 409)
        world.check("POST /plugins/:id/test", "/plugins/no-such-plugin/test", 404)
    }

    /// The core sets, and switching an optional-core plugin on (an unknown name is 404).
    @Test func corePlugins() {
        let status = world.check("GET /core/status", "/core/status", 200, token: .read)
        #expect(status.json["corePlugins"]?.arrayValue?.contains("sql") == true)
        world.check("GET /plugins/core", "/plugins/core", 200, token: .read)
        let toggled = world.check("POST /plugins/core/toggle", "/plugins/core/toggle", 200, json: ["name": "browser", "enabled": true])
        #expect(toggled.json["requiresRestart"] == true)
        #expect(world.agentConfig.text.contains("@elizaos/plugin-browser"))
        world.check("POST /plugins/core/toggle", "/plugins/core/toggle", 404, json: ["name": "no-such-core", "enabled": true])
        world.check("POST /plugins/core/toggle", "/plugins/core/toggle", 400, json: ["name": "browser"])
    }
}

extension JSONValue {
    var text: String { JSONWriter.compact(self) }
}
