import Foundation
import JSON
import Testing
@testable import Plugins
@testable import Stores

/// Why POST /api/plugins/:id/test cannot run a plugin's check: the answer names the one thing that would help.
@Suite struct PluginTestReasonTests {
    struct FixedRuntime: RuntimeView {
        let current: RuntimeSnapshot
        var attached: Bool { true }
        func snapshot() -> RuntimeSnapshot? { current }
        func check(package: String) throws(RuntimeError) -> PluginCheckResult {
            PluginCheckResult(ok: true, message: "checked", durationMs: 1, details: nil)
        }
    }

    /// sql is core but its code is absent; knowledge and twitter are bundled; vision is optional core and absent.
    func service(config: String, runtime: [RuntimeSnapshot.LoadedPlugin]) throws -> PluginService {
        let dir = NSTemporaryDirectory() + "plugind-test-reasons-" + UUID().uuidString
        for name in ["@elizaos/plugin-knowledge", "@acme/plugin-twitter"] {
            try FileManager.default.createDirectory(atPath: dir + "/bundled/" + name, withIntermediateDirectories: true)
            try #"{"name": "\#(name)", "version": "1.0.0"}"#.write(toFile: dir + "/bundled/\(name)/package.json", atomically: true, encoding: .utf8)
        }
        try World.catalogue.write(toFile: dir + "/plugins.json", atomically: true, encoding: .utf8)
        try config.write(toFile: dir + "/milady.json", atomically: true, encoding: .utf8)
        return PluginService(
            catalogue: CatalogueSource(path: dir + "/plugins.json"), paths: PluginPaths(stateDir: dir, bundledPluginsDir: dir + "/bundled"),
            core: CorePolicy(core: ["@elizaos/plugin-sql"], optional: ["@elizaos/plugin-vision"]),
            dependencies: .init(
                configFile: AgentConfigFile(path: dir + "/milady.json"), runtime: FixedRuntime(current: RuntimeSnapshot(state: "running", plugins: runtime)),
                restartReasons: RestartReasonStore(db: try StateDB(path: dir + "/state.db")), retiredSecrets: RetiredSecretStore(), scrub: { $0 }))
    }

    func message(_ body: () throws -> PluginTestResult) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func absentCodeIsSaidFirst() throws {
        let world = try service(
            config: #"{"plugins": {"allow": ["vision"]}}"#,
            runtime: [.init(package: "@elizaos/plugin-sql", loaded: false, error: "not installed"),
                      .init(package: "@elizaos/plugin-vision", loaded: false, error: "not installed")])
        // Enabling and restarting would not help: the message says what would.
        #expect(message { try world.test("sql") } == "sql is not installed in this agent (its code is not bundled, installed or ejected); install or eject it first.")
        #expect(message { try world.test("vision") }.hasPrefix("vision is not installed in this agent"))
        #expect(try world.list().plugins.first { $0.id == "sql" }?.loadError == "not installed")
    }

    @Test func disabledFailedAndNotYetRestartedAreTold() throws {
        let world = try service(
            config: #"{"env": {"TWITTER_KEY": "secret-value-1234"}, "plugins": {"entries": {"knowledge": {"enabled": true}, "@acme/plugin-twitter": {"enabled": true}}}}"#,
            runtime: [.init(package: "@acme/plugin-twitter", loaded: false, error: "init threw: TWITTER_KEY secret-value-1234 was refused"),
                      .init(package: "@elizaos/plugin-sql", loaded: true, error: nil)])
        // The agent's reason, with the stored secret scrubbed out of it.
        #expect(message { try world.test("twitter") } == "twitter failed to load in the agent (init threw: TWITTER_KEY **** was refused); fix that and restart the agent.")
        #expect(message { try world.test("knowledge") } == "knowledge is enabled but not loaded in the agent runtime yet; restart the agent first.")
        let disabled = try service(config: "{}", runtime: [])
        #expect(message { try disabled.test("knowledge") } == "knowledge is not enabled; enable it and restart the agent first.")
        #expect(message { try world.test("sql") } == "no error")
    }
}
