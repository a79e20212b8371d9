import JSON
import Testing
@testable import Registry

/// The registry's answers byte for byte: clients and ETags depend on the exact bytes, member order included, so a
/// change in how they are produced must not show here.
@Suite struct RegistryWireBytesTests {
    static let document = #"""
        {"schemaVersion": "registry-v2", "lastUpdatedAt": "2026-05-01T00:00:00.000Z",
         "registry": {
           "@elizaos/plugin-openai": {"origin": "builtin", "source": "builtin", "support": "first-party", "builtIn": true,
             "status": "active", "kind": "plugin", "registryKind": "plugin", "directory": "plugins/plugin-openai",
             "git": {"repo": "elizaos/eliza", "v0": {"version": null, "branch": null}, "v2": {"version": "2.0.0-beta.1", "branch": "main"}},
             "npm": {"repo": "@elizaos/plugin-openai", "v0": null, "v1": null, "v2": "2.0.0-beta.1", "v2CoreRange": "workspace:*"},
             "supports": {"v0": false, "v1": false, "v2": true}, "description": "OpenAI \"models\"\u0001", "homepage": "https://github.com/elizaos/eliza",
             "topics": ["ai-provider", "built-in"], "stargazers_count": 0, "language": "TypeScript"},
           "@elizaos/app-babylon": {"origin": "builtin", "support": "first-party", "kind": "app",
             "git": {"repo": "elizaos/eliza", "v2": {"branch": "main"}}, "npm": {"repo": "@elizaos/app-babylon", "v2": "2.0.0-beta.3"},
             "supports": {"v2": true}, "app": {"displayName": "Babylon", "n": 1.50, "e": 1e3, "x": {}, "y": [], "category": "game", "launchType": "url", "capabilities": ["play", null, true]}},
           "@1claw/plugin-elizaos": {"origin": "third-party", "source": "community", "support": "community", "kind": "connector",
             "directory": null, "git": {"repo": "1clawAI/1claw-elizaos-plugin", "v2": {"branch": "main"}},
             "npm": {"repo": "@1claw/plugin-elizaos", "v2": "0.1.0"}, "supports": {"v2": true}, "description": "Secrets"},
           "@x/plugin-nulls": {"git": null, "npm": null, "supports": null, "description": null, "homepage": null, "topics": null,
             "stargazers_count": null, "language": null, "kind": null, "app": null, "directory": null, "author": null}
         }}
        """#

    private let status: @Sendable (String) -> RegistryPluginStatus = { name in
        name == "@elizaos/plugin-openai" ? RegistryPluginStatus(bundled: true) : .unknown
    }

    @Test func listAndRefresh() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(Array(Self.document.utf8))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let base = fixture.upstream.url("")
        #expect(try text(service.list(status: status)) == #"{"count":4,"total":4,"plugins":[{"name":"@1claw/plugin-elizaos","id":"elizaos","displayName":"Elizaos","#
            + #""description":"Secrets","npm":{"package":"@1claw/plugin-elizaos","version":"0.1.0"},"compatible":null,"compatibility":null,"kind":"connector","#
            + #""tags":[],"stars":0,"repository":"https://github.com/1clawAI/1claw-elizaos-plugin","installed":false,"#
            + #""installedVersion":null,"loaded":false,"bundled":false},{"name":"@elizaos/app-babylon","id":"app-babylon","#
            + #""displayName":"Babylon","description":"","npm":{"package":"@elizaos/app-babylon","version":"2.0.0-beta.3"},"#
            + #""compatible":null,"compatibility":null,"kind":"app","tags":[],"stars":0,"repository":"https://github.com/elizaos/eliza","installed":false,"installedVersion":null,"#
            + #""loaded":false,"bundled":false},{"name":"@elizaos/plugin-openai","id":"openai","displayName":"Openai","#
            + #""description":"OpenAI \"models\"\u0001","npm":{"package":"@elizaos/plugin-openai","version":"2.0.0-beta.1"},"#
            + #""compatible":null,"compatibility":null,"kind":"plugin","tags":["ai-provider","built-in"],"stars":0,"repository":"https://github.com/elizaos/eliza","#
            + #""installed":false,"installedVersion":null,"loaded":false,"bundled":true},{"name":"@x/plugin-nulls","id":"nulls","#
            + #""displayName":"Nulls","description":"","npm":{"package":"@x/plugin-nulls","version":null},"compatible":null,"compatibility":null,"kind":"plugin","#
            + #""tags":[],"stars":0,"repository":null,"installed":false,"installedVersion":null,"loaded":false,"bundled":false}],"#
            + #""source":{"url":"\#(base)/generated-registry.json","format":"full","fetchedAt":"2025-06-15T15:06:40.000Z","#
            + #""lastUpdatedAt":"2026-05-01T00:00:00.000Z","lastError":null,"skipped":0,"kind":"upstream","errors":[]}}"#)
        #expect(try text(service.refresh()) == #"{"ok":true,"count":4,"source":{"url":"\#(base)/generated-registry.json","format":"full","fetchedAt":"2025-06-15T15:06:40.000Z","lastUpdatedAt":"2026-05-01T00:00:00.000Z","lastError":null,"skipped":0,"kind":"upstream","errors":[]}}"#)
    }

    @Test func details() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(Array(Self.document.utf8))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        #expect(try text(service.details("app-babylon", status: status)) == #"{"plugin":{"name":"@elizaos/app-babylon","id":"app-babylon","displayName":"Babylon","description":"","#
            + #""npm":{"package":"@elizaos/app-babylon","version":"2.0.0-beta.3"},"channel":"v2","compatible":null,"compatibility":null,"coreRanges":{"v2":null},"versions":{"v2":"2.0.0-beta.3"},"#
            + #""supports":{"v2":true},"author":"elizaos","repository":"https://github.com/elizaos/eliza","homepage":null,"#
            + #""tags":[],"stars":0,"language":null,"kind":"app","origin":"builtin","support":"first-party","git":{"repo":"elizaos/eliza","#
            + #""v2":{"version":null,"branch":"main"}},"directory":null,"app":{"displayName":"Babylon","n":1.50,"e":1e3,"#
            + #""x":{},"y":[],"category":"game","launchType":"url","capabilities":["play",null,true]},"installed":false,"#
            + #""installedVersion":null,"loaded":false,"bundled":false}}"#)
        #expect(try text(service.details("nulls", status: status)) == #"{"plugin":{"name":"@x/plugin-nulls","id":"nulls","displayName":"Nulls","description":"","npm":{"package":"@x/plugin-nulls","#
            + #""version":null},"channel":null,"compatible":null,"compatibility":null,"coreRanges":{},"versions":{},"supports":{},"author":"x","repository":null,"homepage":null,"#
            + #""tags":[],"stars":0,"language":null,"kind":"plugin","origin":null,"support":null,"git":{"repo":null},"#
            + #""directory":null,"app":null,"installed":false,"installedVersion":null,"loaded":false,"bundled":false}}"#)
        #expect(try text(service.details("openai", status: status)) == #"{"plugin":{"name":"@elizaos/plugin-openai","id":"openai","displayName":"Openai","description":"OpenAI \"models\"\u0001","#
            + #""npm":{"package":"@elizaos/plugin-openai","version":"2.0.0-beta.1"},"channel":"v2","compatible":null,"compatibility":null,"#
            + #""coreRanges":{"v0":null,"v1":null,"v2":"workspace:*"},"versions":{"v0":null,"#
            + #""v1":null,"v2":"2.0.0-beta.1"},"supports":{"v0":false,"v1":false,"v2":true},"author":"elizaos","repository":"https://github.com/elizaos/eliza","#
            + #""homepage":"https://github.com/elizaos/eliza","tags":["ai-provider","built-in"],"stars":0,"language":"TypeScript","#
            + #""kind":"plugin","origin":"builtin","support":"first-party","git":{"repo":"elizaos/eliza","v2":{"version":"2.0.0-beta.1","#
            + #""branch":"main"}},"directory":"plugins/plugin-openai","app":null,"installed":false,"installedVersion":null,"#
            + #""loaded":false,"bundled":true}}"#)
    }

    /// The route's answer, the registry's part kept from the first request, is the typed answer byte for byte.
    @Test func detailsBody() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(Array(Self.document.utf8))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        let statuses: [@Sendable (String) -> RegistryPluginStatus] = [
            status, { _ in RegistryPluginStatus(installed: true, installedVersion: "1.0.0 \"x\"", loaded: true, bundled: false) },
        ]
        for entry in try service.snapshot().entries {
            for status in statuses {
                let typed = try JSONEncoding.bytes(service.details(entry.name, status: status))
                #expect(try service.detailsBody(entry.name, status: status) == typed, "\(entry.name)")
                #expect(try service.detailsBody(entry.name, status: status) == typed, "\(entry.name), kept")
            }
        }
        #expect(try String(decoding: service.detailsBody("app-babylon", status: status), as: UTF8.self) == text(service.details("app-babylon", status: status)))
    }

    @Test func search() throws {
        let fixture = try ServiceFixture(["/generated-registry.json": .document(Array(Self.document.utf8))])
        defer { fixture.upstream.stop() }
        let service = fixture.service()
        #expect(String(decoding: try service.search("plugin", status: status), as: UTF8.self) == #"{"query":"plugin","count":3,"results":[{"name":"@1claw/plugin-elizaos","id":"elizaos","displayName":"Elizaos","#
            + #""description":"Secrets","npmPackage":"@1claw/plugin-elizaos","version":"0.1.0","compatible":null,"compatibility":null,"kind":"connector","tags":[],"#
            + #""stars":0,"repository":"https://github.com/1clawAI/1claw-elizaos-plugin","installed":false,"loaded":false,"#
            + #""bundled":false,"score":1},{"name":"@elizaos/plugin-openai","id":"openai","displayName":"Openai","description":"OpenAI \"models\"\u0001","#
            + #""npmPackage":"@elizaos/plugin-openai","version":"2.0.0-beta.1","compatible":null,"compatibility":null,"kind":"plugin","tags":["ai-provider","#
            + #""built-in"],"stars":0,"repository":"https://github.com/elizaos/eliza","installed":false,"loaded":false,"#
            + #""bundled":true,"score":1},{"name":"@x/plugin-nulls","id":"nulls","displayName":"Nulls","description":"","#
            + #""npmPackage":"@x/plugin-nulls","version":null,"compatible":null,"compatibility":null,"kind":"plugin","tags":[],"stars":0,"repository":null,"installed":false,"#
            + #""loaded":false,"bundled":false,"score":1}]}"#)
    }

    private func text(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoding.bytes(value), as: UTF8.self) }
}
