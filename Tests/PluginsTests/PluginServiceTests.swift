import Foundation
import JSON
import Locking
import Testing
@testable import Plugins
@testable import Stores

/// A small world: a catalogue, a state directory, an agent config file.
struct World {
    let dir: String
    let service: PluginService
    let config: AgentConfigFile
    let reasons: RestartReasonStore

    static let catalogue = #"""
        {"$schema": "plugin-index-v1", "count": 6, "plugins": [
          {"id": "anthropic", "name": "Anthropic", "npmName": "@elizaos/plugin-anthropic", "category": "ai-provider", "description": "Claude",
           "pluginParameters": {
             "ANTHROPIC_API_KEY": {"type": "string", "required": true, "sensitive": true},
             "ANTHROPIC_TIMEOUT": {"type": "number", "required": true, "default": 30},
             "ANTHROPIC_MODE": {"type": "string", "options": ["fast", "smart"]},
             "ANTHROPIC_STREAM": {"type": "boolean"},
             "NODE_OPTIONS": {"type": "string"}}},
          {"id": "knowledge", "npmName": "@elizaos/plugin-knowledge", "category": "feature",
           "pluginParameters": {"ANTHROPIC_API_KEY": {"type": "string", "sensitive": true}, "KNOWLEDGE_PATH": {"type": "string"}}},
          {"id": "evm", "npmName": "@elizaos/plugin-evm", "category": "feature",
           "pluginParameters": {"EVM_PRIVATE_KEY": {"type": "string", "required": true, "sensitive": true}, "EVM_CHAINS": {"type": "array"}, "EVM_EXTRA": {"type": "json"}}},
          {"id": "vision", "npmName": "@elizaos/plugin-vision", "category": "feature"},
          {"id": "sql", "npmName": "@elizaos/plugin-sql", "category": "database"},
          {"id": "twitter", "npmName": "@acme/plugin-twitter", "category": "connector"}
        ]}
        """#

    init(config initial: String? = nil, catalogue: String? = nil) throws {
        dir = NSTemporaryDirectory() + "plugind-plugins-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.catalogue.write(toFile: dir + "/plugins.json", atomically: true, encoding: .utf8)
        let cataloguePath = catalogue ?? dir + "/plugins.json"
        if let initial { try initial.write(toFile: dir + "/milady.json", atomically: true, encoding: .utf8) }
        let db = try StateDB(path: dir + "/state.db")
        config = AgentConfigFile(path: dir + "/milady.json")
        reasons = RestartReasonStore(db: db)
        service = PluginService(
            catalogue: CatalogueSource(path: cataloguePath), paths: PluginPaths(stateDir: dir, bundledPluginsDir: nil),
            core: CorePolicy(core: ["@elizaos/plugin-sql"], optional: ["@elizaos/plugin-vision"]),
            dependencies: .init(configFile: config, runtime: NoRuntime(), restartReasons: reasons, retiredSecrets: RetiredSecretStore(), scrub: { $0 }))
    }

    var configText: String? { FileManager.default.contents(atPath: dir + "/milady.json").map { String(decoding: $0, as: UTF8.self) } }

    func entry(_ id: String) throws -> JSONValue { try JSONEncoding.value(service.get(id).plugin) }

    func parameter(_ id: String, _ key: String) throws -> JSONValue? {
        try entry(id)["parameters"]?.arrayValue?.first { $0["key"]?.stringValue == key }
    }
}

func issues(_ error: any Error) -> [String] {
    guard case PluginError.invalid(let list) = error else { return [] }
    return list.map(\.field)
}

@Suite struct PluginServiceTests {
    /// Required without value is an error, with a default a warning; wrong types and options are errors; prefixes and short secrets warn.
    @Test func validationRules() throws {
        let world = try World(config: #"{"env": {"ANTHROPIC_API_KEY": "abc", "ANTHROPIC_MODE": "slow", "ANTHROPIC_STREAM": "maybe"}}"#)
        let entry = try world.entry("anthropic")
        let errors = entry["validationErrors"]!.arrayValue!.map { $0["field"]!.stringValue! }
        let warnings = entry["validationWarnings"]!.arrayValue!.map { $0["field"]!.stringValue! }
        #expect(Set(errors) == ["ANTHROPIC_MODE", "ANTHROPIC_STREAM"])
        #expect(warnings.filter { $0 == "ANTHROPIC_API_KEY" }.count == 2)  // prefix and length
        #expect(warnings.contains("ANTHROPIC_TIMEOUT"))
        #expect(entry["configured"] == true)  // the key is set; the timeout has a default
        #expect(try world.parameter("anthropic", "NODE_OPTIONS")?["blocked"] == true)
        let evm = try world.entry("evm")
        #expect(evm["configured"] == false)
        #expect(evm["validationErrors"]!.arrayValue!.map { $0["field"]!.stringValue! } == ["EVM_PRIVATE_KEY"])
    }

    /// Reads come from one board per stamp: whatever the board reads, changed by anyone, changes the next answer.
    @Test func answersFollowEveryInputWhileCached() throws {
        let world = try World(config: #"{"env": {}}"#)
        #expect(try world.entry("anthropic")["configured"] == false)
        #expect(try world.entry("anthropic")["configured"] == false)  // the second from the kept board
        // The agent config written by hand, not through plugind.
        try #"{"env": {"ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"}}"#.write(
            toFile: world.dir + "/milady.json", atomically: true, encoding: .utf8)
        #expect(try world.entry("anthropic")["configured"] == true)
        // An ejected copy appears, then its manifest changes in place (a sync or an edit), same size.
        let copy = world.dir + "/plugins/ejected/plugin-twitter"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try #"{"name": "@acme/plugin-twitter", "version": "1.0.0"}"#.write(toFile: copy + "/package.json", atomically: true, encoding: .utf8)
        #expect(try world.entry("twitter")["version"] == "1.0.0")
        #expect(try world.entry("twitter")["source"] == "ejected")
        let handle = try #require(FileHandle(forWritingAtPath: copy + "/package.json"))
        try handle.write(contentsOf: Array(#"{"name": "@acme/plugin-twitter", "version": "1.1.0"}"#.utf8))
        try handle.close()
        #expect(try world.entry("twitter")["version"] == "1.1.0")
        #expect(try world.service.list().plugins.first { $0.npmName == "@acme/plugin-twitter" }?.version == "1.1.0")
        // The copy removed: the catalogue's entry is back.
        try FileManager.default.removeItem(atPath: copy)
        #expect(try world.entry("twitter")["source"] != "ejected")
    }

    /// A config write prepares its answers under the stamp readers see once it is done, from entries that show the
    /// change, while readers still see the stamp before it: the list readers then get is the prepared one, and no
    /// reader can ask for the new stamp before it is ready.
    @Test func aWritePreparesForTheStampReadersSee() throws {
        let world = try World(config: #"{"env": {}}"#)
        let before = world.service.stamp()
        var preparedStamp: String?
        var stampWhilePreparing: String?
        var preparedEntry: PluginEntry?
        _ = try world.service.update("anthropic", enabled: nil, config: ["ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"]) { stamp, entries in
            preparedStamp = stamp
            stampWhilePreparing = world.service.stamp()
            preparedEntry = entries().first { $0.entry.id == "anthropic" }?.entry
        }
        #expect(preparedStamp != nil && preparedStamp != before)
        #expect(stampWhilePreparing == before)
        #expect(preparedStamp == world.service.stamp())
        #expect(preparedEntry?.configured == true)
        #expect(try world.service.keyedEntries(stamp: world.service.stamp()).first { $0.entry.id == "anthropic" }?.entry.configured == true)
        // A refused change prepares nothing.
        var called = false
        #expect(throws: (any Error).self) {
            try world.service.update("anthropic", enabled: nil, config: ["NO_SUCH_KEY": "x"]) { _, _ in called = true }
        }
        #expect(!called)
    }

    /// A write of the agent config by another service (an install's, here made as `InstallService` makes it) is
    /// prepared too, once `prepareEveryConfigWrite` is given: under the stamp readers see once it is done, with the
    /// change, before they can see it. A settings change that brings its own preparation uses only that one.
    @Test func everyServicesWriteIsPrepared() throws {
        let world = try World(config: #"{"env": {}}"#)
        let before = world.service.stamp()
        let seen = Locked<[(stamp: String, stampWhilePreparing: String, twitterEnabled: Bool?)]>([])
        world.service.prepareEveryConfigWrite { [service = world.service] stamp, entries in
            let twitter = entries().first { $0.entry.id == "twitter" }?.entry
            seen.withLock { $0.append((stamp, service.stamp(), twitter?.enabled)) }
        }
        try world.config.update { document in
            AgentConfigEdits.setEnabled("@acme/plugin-twitter", true, optionalCore: false, in: &document)
        }
        let first = try #require(seen.withLock { $0 }.first)
        #expect(seen.withLock { $0.count } == 1)
        #expect(first.stamp == world.service.stamp() && first.stamp != before)
        #expect(first.stampWhilePreparing == before)
        #expect(first.twitterEnabled == true)
        // Nothing written, nothing prepared; a settings change with its own preparation: only that one runs.
        try world.config.update { _ in }
        var own = 0
        _ = try world.service.update("anthropic", enabled: nil, config: ["ANTHROPIC_MODE": "fast"]) { _, _ in own += 1 }
        #expect(own == 1 && seen.withLock { $0.count } == 1)
        _ = try world.service.update("anthropic", enabled: nil, config: ["ANTHROPIC_MODE": "smart"])
        #expect(seen.withLock { $0.count } == 2)
    }

    /// Each setting's value as the agent config holds it: numbers and booleans as text, JSON as compact JSON, only
    /// whitespace as unset, and of a key written twice the later one (as reading the file by key takes it).
    @Test func storedValuesAsTheConfigHoldsThem() throws {
        let world = try World(config: #"""
            {"env": {"ANTHROPIC_MODE": "fast", "ANTHROPIC_TIMEOUT": 45, "ANTHROPIC_STREAM": true, "KNOWLEDGE_PATH": "  ",
                     "EVM_EXTRA": {"a": [1, "b"]}, "EVM_CHAINS": null, "ANTHROPIC_MODE": "smart"}}
            """#)
        func parameter(_ plugin: String, _ key: String) throws -> PluginParameterEntry {
            try #require(try world.service.get(plugin).plugin.parameters.first { $0.key == key })
        }
        #expect(try parameter("anthropic", "ANTHROPIC_MODE").currentValue == "smart")
        #expect(try parameter("anthropic", "ANTHROPIC_TIMEOUT").currentValue == "45")
        #expect(try parameter("anthropic", "ANTHROPIC_STREAM").currentValue == "true")
        #expect(try parameter("knowledge", "KNOWLEDGE_PATH").isSet == false)
        #expect(try parameter("evm", "EVM_EXTRA").currentValue == #"{"a":[1,"b"]}"#)
        #expect(try parameter("evm", "EVM_CHAINS").isSet == false)
        #expect(try parameter("anthropic", "ANTHROPIC_API_KEY").isSet == false)
    }

    /// The enabled rule: core always, optional-core by plugins.allow (npm name or short id), others by entries.
    @Test func enabledRule() throws {
        let world = try World(config: #"{"plugins": {"allow": ["vision"], "entries": {"anthropic": {"enabled": true}, "@acme/plugin-twitter": {"enabled": true}}}}"#)
        #expect(try world.entry("sql")["enabled"] == true)
        #expect(try world.entry("vision")["enabled"] == true)
        #expect(try world.entry("anthropic")["enabled"] == true)
        #expect(try world.entry("twitter")["enabled"] == true)
        #expect(try world.entry("evm")["enabled"] == false)
        #expect(try world.entry("anthropic")["loadError"] == "not installed")
        #expect(try world.entry("evm")["loadError"] == .null)
        let enabledOnly = try world.service.list(enabled: true).plugins.map(\.id)
        #expect(Set(enabledOnly) == ["sql", "vision", "anthropic", "twitter"])
        let connectors = try world.service.list(category: "connector").plugins
        #expect(connectors.count == 1)
    }

    /// One refused key refuses the whole PUT and leaves the file byte-identical.
    @Test func allOrNothing() throws {
        let original = "{\n  \"keep\": 1.50,\n  \"env\": {\"ANTHROPIC_MODE\": \"fast\"}\n}\n"
        let world = try World(config: original)
        let refused: [(JSONObject, String)] = [
            (["ANTHROPIC_MODE": "smart", "UNDECLARED": "x"].object, "UNDECLARED"),
            (["anthropic_api_key": "sk-ant-x"].object, "anthropic_api_key"),
            (["NODE_OPTIONS": "--inspect"].object, "NODE_OPTIONS"),
            (["node_options": "--inspect"].object, "node_options"),
            (["ANTHROPIC_TIMEOUT": "soon"].object, "ANTHROPIC_TIMEOUT"),
            (["ANTHROPIC_STREAM": .number("1")].object, "ANTHROPIC_STREAM"),
            (["ANTHROPIC_MODE": "slow"].object, "ANTHROPIC_MODE"),
            (["ANTHROPIC_MODE": .array([])].object, "ANTHROPIC_MODE"),
        ]
        for (config, field) in refused {
            do {
                _ = try world.service.update("anthropic", enabled: true, config: config)
                Issue.record("\(field) accepted")
            } catch {
                #expect(issues(error).contains(field), "\(field)")
            }
            #expect(world.configText == original)
        }
        #expect(try world.reasons.all().isEmpty)
    }

    /// Accepted values are stored canonically; the response masks; echoing the mask keeps the secret; null clears.
    @Test func storeMaskEchoClear() throws {
        let world = try World()
        let response = try world.service.update("anthropic", enabled: nil, config: [
            "ANTHROPIC_API_KEY": "sk-ant-0123456789abcdef", "ANTHROPIC_TIMEOUT": .number("45.0"), "ANTHROPIC_STREAM": true,
        ].object)
        #expect(response.ok)
        #expect(response.requiresRestart == false)  // nothing declaring these is enabled or loaded
        #expect(response.affectedPlugins == ["anthropic", "knowledge"])
        let stored = try world.config.read()["env"]!.objectValue!
        #expect(stored["ANTHROPIC_API_KEY"] == "sk-ant-0123456789abcdef")
        #expect(stored["ANTHROPIC_TIMEOUT"] == "45")
        #expect(stored["ANTHROPIC_STREAM"] == "true")
        let shown = try #require(try world.parameter("anthropic", "ANTHROPIC_API_KEY")?["currentValue"]?.stringValue)
        #expect(shown == "sk-****...cdef")
        #expect(try world.parameter("knowledge", "ANTHROPIC_API_KEY")?["currentValue"]?.stringValue == shown)
        _ = try world.service.update("anthropic", enabled: nil, config: ["ANTHROPIC_API_KEY": .string(shown)].object)
        #expect(try world.config.read()["env"]?["ANTHROPIC_API_KEY"] == "sk-ant-0123456789abcdef")
        _ = try world.service.update("anthropic", enabled: nil, config: ["ANTHROPIC_API_KEY": .null, "ANTHROPIC_STREAM": ""].object)
        let after = try world.config.read()["env"]!.objectValue!
        #expect(after["ANTHROPIC_API_KEY"] == nil && after["ANTHROPIC_STREAM"] == nil && after["ANTHROPIC_TIMEOUT"] == "45")
        #expect(try world.entry("anthropic")["validationErrors"]!.arrayValue!.contains { $0["field"] == "ANTHROPIC_API_KEY" })
    }

    /// Enabling a plugin with two required settings missing is accepted, and the answer names both; once they are set it says nothing.
    @Test func enablingWithoutRequiredSettingsSaysWhichAreMissing() throws {
        let dir = NSTemporaryDirectory() + "plugind-two-missing-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"""
            {"$schema": "plugin-index-v1", "count": 1, "plugins": [
              {"id": "telegram", "npmName": "@elizaos/plugin-telegram", "category": "connector",
               "pluginParameters": {"TELEGRAM_BOT_TOKEN": {"type": "string", "required": true, "sensitive": true},
                                    "TELEGRAM_CHAT_ID": {"type": "string", "required": true}}}]}
            """#.write(toFile: dir + "/plugins.json", atomically: true, encoding: .utf8)
        let world = try World(catalogue: dir + "/plugins.json")
        defer { try? FileManager.default.removeItem(atPath: world.dir) }
        let enabled = try world.service.update("telegram", enabled: true, config: nil)
        #expect(enabled.plugin.enabled)
        #expect(enabled.warnings == ["telegram is enabled but will not work until you set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID: they are required."])
        #expect(try world.config.read()["plugins"]?["entries"]?["telegram"]?["enabled"] == true)
        let configured = try world.service.update(
            "telegram", enabled: nil, config: ["TELEGRAM_BOT_TOKEN": "0123456789:abcdef", "TELEGRAM_CHAT_ID": "42"].object)
        #expect(configured.warnings.isEmpty)
        let disabled = try world.service.update("telegram", enabled: false, config: ["TELEGRAM_CHAT_ID": .null].object)
        #expect(disabled.warnings.isEmpty)  // disabled: nothing will fail to load
    }

    /// Enabling schedules a restart and is written where Milady reads it; a change to a key an enabled plugin shares restarts too.
    @Test func enablingAndSharedKeys() throws {
        let world = try World()
        let enabled = try world.service.update("knowledge", enabled: true, config: nil)
        #expect(enabled.requiresRestart == true)
        #expect(try world.config.read()["plugins"]?["entries"]?["knowledge"]?["enabled"] == true)
        let shared = try world.service.update("anthropic", enabled: nil, config: ["ANTHROPIC_API_KEY": "sk-ant-zzzzzzzzzzzzzzzz"].object)
        #expect(shared.requiresRestart == true)
        #expect(shared.affectedPlugins == ["anthropic", "knowledge"])
        #expect(try world.reasons.all().count == 2)
        let again = try world.service.update("knowledge", enabled: true, config: nil)
        #expect(again.requiresRestart == false)
    }

    /// Core plugins cannot be disabled (409) nor toggled (400); optional-core toggles write plugins.allow and features.
    @Test func corePlugins() throws {
        let world = try World()
        #expect(throws: PluginError.coreAlwaysEnabled("sql")) { try world.service.update("sql", enabled: false, config: nil) }
        #expect(throws: PluginError.self) { try world.service.coreToggle(name: "sql", enabled: false) }
        #expect(throws: PluginError.notFound("nope")) { try world.service.coreToggle(name: "nope", enabled: true) }
        #expect(try world.service.coreToggle(name: "@elizaos/plugin-vision", enabled: true).requiresRestart == true)
        #expect(try world.service.coreToggle(name: "vision", enabled: true).requiresRestart == false)
        let document = try world.config.read()
        #expect(document["plugins"]?["allow"] == .strings(["@elizaos/plugin-vision"]))
        #expect(document["features"]?["vision"] == true)
        #expect(try world.entry("vision")["enabled"] == true)
        let core = try world.service.coreList()
        #expect(core.optionalCore.first?.enabled == true)
        _ = try world.service.update("vision", enabled: false, config: nil)
        #expect(try world.service.coreList().optionalCore.first?.enabled == false)
        #expect(try world.config.read()["features"]?["vision"] == false)
    }

    /// Plugins named only in the config appear with source "config"; a shared short id resolves per the contract.
    @Test func configOnlyAndCollisions() throws {
        let world = try World(config: #"{"plugins": {"entries": {"twitter": {"enabled": false}, "@beta/plugin-twitter": {"enabled": true}}}}"#)
        let ids = try world.service.list().plugins.map(\.id)
        #expect(ids.contains("twitter"))  // @elizaos/plugin-twitter, from the config, keeps the short id
        #expect(ids.contains("@acme/plugin-twitter") && ids.contains("@beta/plugin-twitter"))
        #expect(try world.entry("twitter")["npmName"] == "@elizaos/plugin-twitter")
        #expect(try world.entry("twitter")["source"] == "config")
        #expect(try world.entry("@beta/plugin-twitter")["enabled"] == true)
        #expect(throws: PluginError.notFound("nothing-here")) { try world.service.get("nothing-here") }
    }

    /// Sixteen concurrent PUTs on different plugins of Milady's catalogue lose no update.
    @Test func concurrentPuts() throws {
        let world = try World(catalogue: sharedData("catalogue/milady-plugins.json"))
        let board = try world.service.currentBoard()
        let targets = board.plugins.filter { !world.service.core.isCore($0.key) && !world.service.core.isOptionalCore($0.key) && $0.npmName != nil }
            .prefix(16).map { board.id($0) }
        #expect(targets.count == 16)
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            _ = try? world.service.update(targets[i], enabled: true, config: nil)
        }
        for id in targets { #expect(try world.entry(id)["enabled"] == true, "\(id)") }
        #expect(try world.reasons.all().count == 16)
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    var object: JSONObject { JSONObject(map { JSONObject.Member(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }) }
}
