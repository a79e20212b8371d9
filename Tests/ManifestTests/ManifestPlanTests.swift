import Install
import Manifest
import Testing

@Suite struct ManifestPlanTests {
    static func pin(_ text: String) -> PinnedPackage { PinnedPackage(parsing: text)! }

    /// An agent with one package (and its dependency), one enabled catalogue plugin, a setting and a secret.
    static var agent: AgentState {
        var state = AgentState()
        state.packages["@acme/plugin-x"] = .init(version: "1.0.0", tree: [pin("@acme/plugin-x@1.0.0@sha512-X1"), pin("dep@1.0.0@sha512-D1")])
        state.enabled = ["@acme/plugin-x": true, "@elizaos/plugin-openai": true, "@elizaos/plugin-discord": false]
        state.core = ["@elizaos/plugin-sql"]
        state.values = ["X_MODE": "fast", "OPENAI_API_KEY": "sk-secret-value-1234", "DATABASE_URL": "postgres://user:pass@db/x"]
        state.sensitive = ["OPENAI_API_KEY"]
        return state
    }

    /// The export puts secrets' names only (a sensitive key, a credentialed URL) and lists enabled or installed plugins.
    @Test func exportKeepsSecretsOut() {
        let manifest = Manifest(exporting: Self.agent)
        #expect(manifest.settings == ["X_MODE": "fast"])
        #expect(manifest.secrets == ["OPENAI_API_KEY", "DATABASE_URL"])
        #expect(manifest.plugins == ["@acme/plugin-x": true, "@elizaos/plugin-openai": true])
        let text = String(decoding: manifest.bytes, as: UTF8.self)
        #expect(!text.contains("sk-secret"))
        #expect(!text.contains("user:pass"))
    }

    /// A manifest exported from an agent plans nothing on that agent.
    @Test func ownExportIsANoOp() throws {
        let plan = try ManifestPlan.compute(Manifest(exporting: Self.agent), against: Self.agent)
        #expect(plan.changes.isEmpty)
        #expect(plan.missingSecrets.isEmpty)
        #expect(!plan.requiresRestart)
    }

    /// On an empty agent: installs, then settings, then enablement, each by name; secrets it lacks are listed.
    @Test func emptyAgentGetsEverythingInOrder() throws {
        var manifest = Manifest(exporting: Self.agent)
        manifest.packages["@acme/plugin-a"] = .init(version: "2.0.0", tree: [Self.pin("@acme/plugin-a@2.0.0@sha512-A")])
        let plan = try ManifestPlan.compute(manifest, against: AgentState())
        #expect(plan.changes.map(\.action) == [.install, .install, .set, .enable, .enable])
        #expect(plan.changes.compactMap(\.plugin) == ["@acme/plugin-a", "@acme/plugin-x", "@acme/plugin-x", "@elizaos/plugin-openai"])
        #expect(plan.missingSecrets == ["DATABASE_URL", "OPENAI_API_KEY"])
        #expect(plan.warnings.count == 2)
    }

    /// Versions decide upgrade and downgrade; the same version with another tree is a reinstall; a package the
    /// manifest lacks is uninstalled; a secret the manifest does not name is unset, without its value.
    @Test func packageAndSettingChanges() throws {
        var manifest = Manifest(exporting: Self.agent)
        var other = Self.agent
        other.packages["@acme/plugin-x"] = .init(version: "2.0.0", tree: nil)
        #expect(try ManifestPlan.compute(manifest, against: other).changes.first?.action == .downgrade)
        other.packages["@acme/plugin-x"] = .init(version: "0.9.0", tree: nil)
        #expect(try ManifestPlan.compute(manifest, against: other).changes.first?.action == .upgrade)
        other.packages["@acme/plugin-x"] = .init(version: "1.0.0", tree: [Self.pin("@acme/plugin-x@1.0.0@sha512-X1")])
        #expect(try ManifestPlan.compute(manifest, against: other).changes.first?.action == .reinstall)

        manifest.packages = [:]
        manifest.secrets.remove("OPENAI_API_KEY")
        manifest.settings["X_MODE"] = "slow"
        let plan = try ManifestPlan.compute(manifest, against: Self.agent)
        #expect(plan.changes.contains(.init(action: .uninstall, plugin: "@acme/plugin-x", key: nil, from: "1.0.0", to: nil, secret: nil)))
        #expect(plan.changes.contains(.init(action: .set, plugin: nil, key: "X_MODE", from: "fast", to: "slow", secret: false)))
        #expect(plan.changes.contains(.init(action: .unset, plugin: nil, key: "OPENAI_API_KEY", from: nil, to: nil, secret: true)))
    }

    /// A value for a sensitive key, a credentialed URL or a blocked key is a 422 naming each.
    @Test func secretValuesAreRefused() {
        var manifest = Manifest()
        manifest.settings = ["OPENAI_API_KEY": "sk-x", "DB_URL": "postgres://u:p@h/d", "NODE_OPTIONS": "--x"]
        do {
            _ = try ManifestPlan.compute(manifest, against: Self.agent)
            Issue.record("no refusal")
        } catch {
            guard case .invalidValues(let issues) = error else { Issue.record("\(error)"); return }
            #expect(issues.map(\.field) == ["settings.DB_URL", "settings.NODE_OPTIONS", "settings.OPENAI_API_KEY"])
            #expect(error.kind == .unprocessable)
        }
    }

    /// An ejected copy with local commits that the manifest would change is blocked, unless skipped.
    @Test func ejectedWorkIsNeverOverwritten() throws {
        var state = Self.agent
        state.ejected["@acme/plugin-x"] = .init(gitUrl: "https://e/x.git", branch: "main", commit: "aaaaaaa", localCommits: 2, localChanges: false)
        var manifest = Manifest(exporting: state)
        manifest.ejected["@acme/plugin-x"]?.commit = "bbbbbbb"
        manifest.packages["@acme/plugin-x"]?.version = "1.1.0"
        let plan = try ManifestPlan.compute(manifest, against: state)
        #expect(plan.blocked.map(\.plugin) == ["@acme/plugin-x"])
        #expect(plan.changes.isEmpty)
        let skipped = try ManifestPlan.compute(manifest, against: state, skip: ["@acme/plugin-x"])
        #expect(skipped.blocked.isEmpty)
        #expect(skipped.changes.isEmpty)
    }
}
