import Foundation
import JSON
import Testing
@testable import Plugins
@testable import Stores

/// A runtime that loaded two plugins and failed one, quoting its key; its checks quote the key too.
private struct ReportingRuntime: RuntimeView {
    func snapshot() -> RuntimeSnapshot? {
        RuntimeSnapshot(state: "running", startedAt: "2025-01-01T00:00:00Z", plugins: [
            .init(package: "@elizaos/plugin-anthropic", loaded: false, error: "bad key sk-ant-0123456789abcdef \"quoted\"\n"),
            .init(package: "@elizaos/plugin-sql", loaded: true, error: nil),
            .init(package: "@elizaos/plugin-knowledge", loaded: true, error: ""),
        ])
    }
    var attached: Bool { true }
    func check(package: String) throws(RuntimeError) -> PluginCheckResult {
        PluginCheckResult(
            ok: package.hasSuffix("sql"), message: "checked sk-ant-0123456789abcdef", durationMs: 12,
            details: package.hasSuffix("sql") ? ["n": .number("1.50"), "list": [true, nil, "sk-ant-0123456789abcdef"]] : nil)
    }
}

/// The plugin answers byte for byte: clients and ETags depend on the exact bytes, member order included, so a change
/// in how they are produced must not show here.
@Suite struct PluginWireBytesTests {
    let service: PluginService

    init() throws {
        let dir = NSTemporaryDirectory() + "plugind-wire-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try World.catalogue.write(toFile: dir + "/plugins.json", atomically: true, encoding: .utf8)
        let config = #"{"env": {"ANTHROPIC_API_KEY": "sk-ant-0123456789abcdef", "ANTHROPIC_MODE": "slow", "EVM_CHAINS": ["a", 1], "ANTHROPIC_TIMEOUT": 1.50}, "plugins": {"allow": ["vision"], "entries": {"anthropic": {"enabled": true}, "knowledge": {"enabled": true}}}}"#
        try config.write(toFile: dir + "/milady.json", atomically: true, encoding: .utf8)
        service = PluginService(
            catalogue: CatalogueSource(path: dir + "/plugins.json"), paths: PluginPaths(stateDir: dir, bundledPluginsDir: nil),
            core: CorePolicy(core: ["@elizaos/plugin-sql"], optional: ["@elizaos/plugin-vision"]),
            dependencies: .init(
                configFile: AgentConfigFile(path: dir + "/milady.json"), runtime: ReportingRuntime(),
                restartReasons: RestartReasonStore(db: try StateDB(path: dir + "/state.db")), retiredSecrets: RetiredSecretStore(), scrub: { $0 }))
    }

    /// One plugin: state, load error with the secret scrubbed, parameters masked, validation.
    @Test func entry() throws {
        #expect(try text(service.get("anthropic")) == #"{"plugin":{"id":"anthropic","name":"Anthropic","description":"Claude","category":"ai-provider","enabled":true,"#
            + #""isActive":false,"configured":true,"loadError":"bad key **** \"quoted\"\n","parameters":[{"key":"ANTHROPIC_API_KEY","#
            + #""type":"string","description":"","required":true,"sensitive":true,"default":null,"options":null,"isSet":true,"#
            + #""currentValue":"sk-****...cdef","blocked":false},{"key":"ANTHROPIC_TIMEOUT","type":"number","description":"","#
            + #""required":true,"sensitive":false,"default":"30","options":null,"isSet":true,"currentValue":"1.50","blocked":false},"#
            + #"{"key":"ANTHROPIC_MODE","type":"string","description":"","required":false,"sensitive":false,"default":null,"#
            + #""options":["fast","smart"],"isSet":true,"currentValue":"slow","blocked":false},{"key":"ANTHROPIC_STREAM","#
            + #""type":"boolean","description":"","required":false,"sensitive":false,"default":null,"options":null,"isSet":false,"#
            + #""currentValue":null,"blocked":false},{"key":"NODE_OPTIONS","type":"string","description":"","required":false,"#
            + #""sensitive":false,"default":null,"options":null,"isSet":false,"currentValue":null,"blocked":true}],"validationErrors":[{"field":"ANTHROPIC_MODE","#
            + #""message":"must be one of: fast, smart"}],"validationWarnings":[],"npmName":"@elizaos/plugin-anthropic","#
            + #""version":null,"source":"bundled","available":false}}"#)
        #expect(try text(service.get("knowledge")) == #"{"plugin":{"id":"knowledge","name":"Knowledge","description":"","category":"feature","enabled":true,"isActive":true,"#
            + #""configured":true,"loadError":"not installed","parameters":[{"key":"ANTHROPIC_API_KEY","type":"string","#
            + #""description":"","required":false,"sensitive":true,"default":null,"options":null,"isSet":true,"currentValue":"sk-****...cdef","#
            + #""blocked":false},{"key":"KNOWLEDGE_PATH","type":"string","description":"","required":false,"sensitive":false,"#
            + #""default":null,"options":null,"isSet":false,"currentValue":null,"blocked":false}],"validationErrors":[],"#
            + #""validationWarnings":[],"npmName":"@elizaos/plugin-knowledge","version":null,"source":"bundled","available":false}}"#)
    }

    @Test func core() throws {
        #expect(try text(service.coreStatus()) == #"{"available":true,"corePlugins":["sql"],"optionalCorePlugins":["vision"]}"#)
        #expect(try text(service.coreList()) == #"{"core":[{"name":"sql","npmName":"@elizaos/plugin-sql","loaded":true,"required":true}],"optionalCore":[{"name":"vision","#
            + #""npmName":"@elizaos/plugin-vision","loaded":false,"required":false,"enabled":true}]}"#)
        #expect(try text(service.coreToggle(name: "vision", enabled: false)) == #"{"ok":true,"requiresRestart":true}"#)
        #expect(try text(service.coreToggle(name: "vision", enabled: false)) == #"{"ok":true,"requiresRestart":false}"#)
    }

    /// A check's details are kept as the plugin wrote them (number literals too), and left out when it wrote none.
    @Test func check() throws {
        #expect(try text(service.test("sql")) == #"{"ok":true,"result":{"message":"checked ****","durationMs":12,"details":{"n":1.50,"list":[true,null,"****"]}}}"#)
        #expect(try text(service.test("knowledge")) == #"{"ok":false,"result":{"message":"checked ****","durationMs":12}}"#)
    }

    @Test func update() throws {
        #expect(try text(service.update("evm", enabled: true, config: nil)) == #"{"ok":true,"plugin":{"id":"evm","name":"Evm","description":"","category":"feature","enabled":true,"isActive":false,"#
            + #""configured":false,"loadError":"not installed","parameters":[{"key":"EVM_PRIVATE_KEY","type":"string","#
            + #""description":"","required":true,"sensitive":true,"default":null,"options":null,"isSet":false,"currentValue":null,"#
            + #""blocked":false},{"key":"EVM_CHAINS","type":"array","description":"","required":false,"sensitive":false,"#
            + #""default":null,"options":null,"isSet":true,"currentValue":"[\"a\",1]","blocked":false},{"key":"EVM_EXTRA","#
            + #""type":"json","description":"","required":false,"sensitive":false,"default":null,"options":null,"isSet":false,"#
            + #""currentValue":null,"blocked":false}],"validationErrors":[{"field":"EVM_PRIVATE_KEY","message":"is required"}],"#
            + #""validationWarnings":[],"npmName":"@elizaos/plugin-evm","version":null,"source":"bundled","available":false},"#
            + #""requiresRestart":true,"affectedPlugins":["evm"],"#
            + #""warnings":["evm is enabled but will not work until you set EVM_PRIVATE_KEY: it is required."]}"#)
        do {
            _ = try service.update("anthropic", enabled: true, config: JSONObject([.init(key: "NOPE", value: "x"), .init(key: "ANTHROPIC_MODE", value: "slow")]))
            Issue.record("accepted")
        } catch let error as PluginError {
            #expect(JSONWriter.compact(.object(error.details)) == #"{"validationErrors":[{"field":"NOPE","message":"is not a parameter of anthropic"},{"field":"ANTHROPIC_MODE","#
            + #""message":"must be one of: fast, smart"}]}"#)
        }
    }

    private func text(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoding.bytes(value), as: UTF8.self) }
}
