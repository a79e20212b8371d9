import Foundation
import JSON
import Testing
@testable import Plugins

/// ../shared/data beside the repository, as in CI.
func sharedData(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/" + path).path
}

@Suite struct CatalogueTests {
    /// Milady's plugins.json: all 104 entries load although count says 99; custom-rtmp has no npm name.
    @Test func miladyCatalogue() throws {
        let catalogue = try Catalogue.load(path: sharedData("catalogue/milady-plugins.json"))
        #expect(catalogue.plugins.count == 104)
        #expect(catalogue.warnings.contains { $0.contains("count 99") && $0.contains("104") })
        let counts = Dictionary(grouping: catalogue.plugins, by: \.category).mapValues(\.count)
        #expect(counts == ["feature": 53, "connector": 31, "ai-provider": 9, "app": 4, "streaming": 4, "database": 3])
        let rtmp = try #require(catalogue.plugins.first { $0.key == "custom-rtmp" })
        #expect(rtmp.npmName == nil)
        let evm = try #require(catalogue.plugins.first { $0.key == "@elizaos/plugin-evm" })
        let key = try #require(evm.parameters.first { $0.key == "EVM_PRIVATE_KEY" })
        #expect(key.required && key.sensitive && key.type == .string)
        #expect(catalogue.plugins.filter { $0.parameters.contains { $0.key == "ANTHROPIC_API_KEY" } }.count == 4)
    }

    /// The catalogue shipped in the repository has every core and optional-core plugin and loads cleanly.
    @Test func shippedCatalogue() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("catalogue/plugins.json").path
        let catalogue = try Catalogue.load(path: path)
        #expect(catalogue.warnings.isEmpty)
        let keys = Set(catalogue.plugins.map(\.key))
        for npm in CorePolicy.miladyCore + CorePolicy.miladyOptional { #expect(keys.contains(npm), "\(npm)") }
        #expect(catalogue.plugins.allSatisfy { !$0.description.isEmpty })
    }

    /// Broken entries are skipped and counted, never fatal.
    @Test func tolerance() throws {
        let document = try JSONParser.parse(#"""
            {"count": 5, "plugins": [
              {"id": "a", "npmName": "@x/plugin-a", "category": "weird", "pluginParameters": {"K": {"type": "number"}}, "configKeys": ["K", "EXTRA_TOKEN"]},
              {"npmName": null},
              {"id": "a2", "npmName": "@x/plugin-a"},
              {"id": "b", "npmName": null, "name": null}
            ]}
            """#)
        let catalogue = Catalogue.parse(document)
        #expect(catalogue.plugins.map(\.key) == ["@x/plugin-a", "b"])
        #expect(catalogue.plugins[0].category == "feature")
        #expect(catalogue.plugins[0].parameters.map(\.key) == ["K", "EXTRA_TOKEN"])
        #expect(catalogue.plugins[0].parameters[1].sensitive)
        #expect(catalogue.warnings.count == 3)
    }

    /// A package.json declares parameters through agentConfig, else elizaos.configKeys.
    @Test func packageParameters() throws {
        let withAgentConfig = try JSONParser.parse(#"{"agentConfig": {"pluginParameters": {"X_KEY": {"type": "string", "optional": false}}}, "elizaos": {"configKeys": ["IGNORED"]}}"#)
        #expect(KnownPlugin.parameters(fromPackage: withAgentConfig).map(\.key) == ["X_KEY"])
        #expect(KnownPlugin.parameters(fromPackage: withAgentConfig)[0].required)
        let withConfigKeys = try JSONParser.parse(#"{"elizaos": {"configKeys": ["A_URL", "A_TOKEN"]}}"#)
        let parameters = KnownPlugin.parameters(fromPackage: withConfigKeys)
        #expect(parameters.map(\.key) == ["A_URL", "A_TOKEN"])
        #expect(parameters.map(\.sensitive) == [false, true])
        #expect(KnownPlugin.parameters(fromPackage: try JSONParser.parse("{}")).isEmpty)
    }
}
