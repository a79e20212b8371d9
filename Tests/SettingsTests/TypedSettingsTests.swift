import Testing

@testable import Settings

/// The typed groups the services are built from say what the settings say, defaults included.
@Suite struct TypedSettingsTests {
    @Test func groupsFollowTheSettings() throws {
        let settings = try PlugindSettings(environment: [:], overrides: [
            ("runtimeBridge", "none"), ("maxTreeUnpackedMiB", "3"), ("timeouts.gitMs", "1234"),
            ("npmScopes", #"{"@b":{"registry":"https://b.example/"},"@a":{"registry":"https://a.example/","token":"t0k3n-secret-value"}}"#),
        ])
        #expect(settings.agent.runtimeBridge == nil)
        #expect(settings.npm.maxTreeUnpackedBytes == 3 << 20)
        #expect(settings.timeouts.gitMs == 1234 && settings.timeouts.connectMs == 5_000)
        #expect(settings.npm.scopes.map(\.scope) == ["@b", "@a"])
        #expect(settings.npm.scopes.last?.token == "t0k3n-secret-value")
        #expect(settings.pluginRegistry.channel == "auto" && settings.pluginRegistry.gitBaseURL == "https://github.com/")
        #expect(settings.agentRegistry.agentName == "agent" && settings.agentRegistry.publicURI == nil)
        let attached = try PlugindSettings(environment: [:], overrides: [("runtimeBridge", "http://127.0.0.1:9")])
        #expect(attached.agent.runtimeBridge == "http://127.0.0.1:9")
    }
}
