import Foundation
import JSON
import Testing
@testable import Settings

@Suite struct SettingsTests {
    /// Defaults are the contract's: 16 threads, 1 MiB bodies, 4 operations, its timeouts.
    @Test func defaults() throws {
        let s = try PlugindSettings()
        #expect(s.threads == 16)
        #expect(s.maxBodyBytes == 1 << 20)
        #expect(s.maxConcurrentOperations == 4)
        #expect(s.timeout("connectMs") == 5000)
        #expect(s.timeout("bridgeMs") == 1000)
        #expect(s.timeout("operationMs") == 840_000)
        #expect(s.strings("pluginRegistryUrls").first == "https://plugins.elizacloud.ai/generated-registry.json")
        #expect(s.agentConfigPath == "/var/lib/plugind/milady.json")
    }

    /// File, then environment, then flags: the later wins.
    @Test func precedence() throws {
        let path = NSTemporaryDirectory() + "settings-\(UUID().uuidString).json"
        try #"{"threads": 8, "stateDir": "/tmp/a", "timeouts": {"npmMs": 1000}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let s = try PlugindSettings(
            file: path, environment: ["PLUGIND_THREADS": "12", "PLUGIND_PLUGIN_REGISTRY_URLS": "http://127.0.0.1:9/a.json, https://x.example/b.json", "PLUGIND_TIMEOUT_GIT_MS": "2000"],
            overrides: [("stateDir", "/tmp/b")])
        #expect(s.threads == 12)
        #expect(s.stateDir == "/tmp/b")
        #expect(s.timeout("npmMs") == 1000)
        #expect(s.timeout("gitMs") == 2000)
        #expect(s.strings("pluginRegistryUrls") == ["http://127.0.0.1:9/a.json", "https://x.example/b.json"])
    }

    /// Environment names follow the documented rule.
    @Test func environmentNames() {
        let names = Set(SettingsTable.all.map(\.environment))
        for expected in ["PLUGIND_CATALOGUE", "PLUGIND_NPM_REGISTRY", "PLUGIND_PLUGIN_REGISTRY_URLS", "PLUGIND_GIT_BASE_URL", "PLUGIND_AGENT_REGISTRY_URL", "PLUGIND_STATE_DIR", "PLUGIND_TIMEOUT_CONNECT_MS"] {
            #expect(names.contains(expected), "\(expected)")
        }
    }

    /// Bad values are refused with a message naming the setting.
    @Test(arguments: [
        ("threads", "0"), ("threads", "x"), ("npmRegistry", "http://registry.example/"), ("npmRegistry", "ftp://x/"),
        ("npmRegistry", "not a url"), ("socketMode", "999"), ("publicOrigins", "https://a.example/path"),
        ("timeouts.operationMs", "900000"), ("maxConcurrentOperations", "16"), ("logLevel", "loud"), ("nosuch", "1"),
        ("allowUnlistedPackages", "maybe"),
    ])
    func refusesBadValues(_ key: String, _ value: String) {
        do {
            _ = try PlugindSettings(overrides: [(key, value)])
            Issue.record("\(key)=\(value) was accepted")
        } catch let error as SettingsError {
            #expect(error.description.contains(key.split(separator: ".").last.map(String.init) ?? key))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Loopback http and file:// git bases are fine (tests use them).
    @Test func loopbackAllowed() throws {
        let s = try PlugindSettings(overrides: [("npmRegistry", "http://127.0.0.1:4873/prefix/"), ("gitBaseUrl", "file:///tmp/repos/"), ("agentRegistryUrl", "http://localhost:9000")])
        #expect(s.string("npmRegistry") == "http://127.0.0.1:4873/prefix/")
    }

    /// An unknown key or broken JSON in the file is an error naming the file.
    @Test func fileErrors() throws {
        let path = NSTemporaryDirectory() + "settings-\(UUID().uuidString).json"
        try #"{"thread": 8}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SettingsError.self) { try PlugindSettings(file: path) }
        try #"{"threads": 8,}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SettingsError.self) { try PlugindSettings(file: path) }
        #expect(throws: SettingsError.self) { try PlugindSettings(file: path + ".missing") }
    }

    /// Secrets are shown as **** and nothing else is hidden.
    @Test func redaction() throws {
        let s = try PlugindSettings(environment: ["PLUGIND_NPM_REGISTRY_TOKEN": "npm_secret_value"])
        let text = JSONWriter.compact(s.redactedJSON())
        #expect(!text.contains("npm_secret_value"))
        #expect(text.contains(#""npmRegistryToken":"****""#))
        #expect(s.secrets == ["npm_secret_value"])
        #expect(text.contains(#""connectMs":5000"#))
    }
}

@Suite struct SettingsDocumentationTests {
    /// docs/configuration.md names every setting and its environment variable, so the reference stays true.
    /// Private scopes: each an @scope with a registry URL (https, or http on loopback) and an optional token; the
    /// tokens are secrets (scrubbed, masked in GET /api/settings), the registries are not.
    @Test func npmScopes() throws {
        let good = try PlugindSettings(environment: [
            "PLUGIND_NPM_SCOPES": #"{"@acme": {"registry": "https://npm.acme.example/", "token": "acme-secret-token"}, "@lab": {"registry": "http://127.0.0.1:4873/"}}"#,
        ])
        #expect(good.secrets.contains("acme-secret-token"))
        let shown = good.redactedJSON()["npmScopes"]
        #expect(shown?["@acme"]?["registry"] == "https://npm.acme.example/" && shown?["@acme"]?["token"] == "****")
        #expect(shown?["@lab"]?["token"] == nil)
        for bad in [#"{"acme": {"registry": "https://x.example/"}}"#, #"{"@acme": {}}"#, #"{"@acme": {"registry": "http://npm.acme.example/"}}"#,
                    #"{"@acme": {"registry": "https://x.example/", "token": ""}}"#, #"{"@acme": {"registry": "https://x.example/", "user": "a"}}"#,
                    "not json", #"["@acme"]"#] {
            #expect(throws: SettingsError.self, "\(bad)") { try PlugindSettings(environment: ["PLUGIND_NPM_SCOPES": bad]) }
        }
    }

    @Test func everySettingIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for spec in SettingsTable.all {
            #expect(doc.contains("| `\(spec.key)` | `\(spec.environment)` |"), "\(spec.key) is missing from docs/configuration.md")
        }
    }
}
