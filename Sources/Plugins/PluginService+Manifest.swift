import JSON

/// What a manifest reads of the plugins and their settings, as plain values: each plugin's enabled flag by the one
/// rule, each declared setting's stored value, and which keys are sensitive.
public struct PluginSettingsView: Sendable {
    public struct Plugin: Sendable {
        public let enabled: Bool
        public let core: Bool
    }

    /// Every known plugin with an npm name, by npm name.
    public let plugins: [String: Plugin]
    /// The stored value of every key some plugin declares (blocked and injected keys left out), by key.
    public let values: [String: String]
    /// Keys some plugin declares sensitive, or whose name looks sensitive.
    public let sensitive: Set<String>

    public func isSensitive(_ key: String) -> Bool { sensitive.contains(key) || ParameterRules.looksSensitive(key) }
}

extension PluginService {
    /// The plugins and settings as the agent config `document` has them.
    public func settingsView(config document: JSONObject) throws -> PluginSettingsView {
        let board = try board(config: document)
        var plugins: [String: PluginSettingsView.Plugin] = [:]
        for plugin in board.plugins {
            guard let npm = plugin.npmName else { continue }
            plugins[npm] = .init(enabled: board.isEnabled(plugin), core: core.isCore(npm))
        }
        var values: [String: String] = [:]
        var declared: Set<String> = []
        for key in board.declaredBy.keys where !ParameterRules.isBlocked(key) && !ParameterRules.isInjected(key) {
            declared.insert(key)
            if let value = board.storedValue(key) { values[key] = value }
        }
        return PluginSettingsView(plugins: plugins, values: values, sensitive: board.sensitiveKeys.intersection(declared))
    }

    /// Whether a key may be written as a setting at all (not one that changes how the agent process runs, nor one
    /// the hosting infrastructure injects).
    public static func isWritableSetting(_ key: String) -> Bool { !ParameterRules.isBlocked(key) && !ParameterRules.isInjected(key) }

    /// Turns a non-core plugin on or off by the one rule (`plugins.allow` for optional-core, `plugins.entries` else).
    public func setEnabled(_ npmName: String, _ enabled: Bool, in document: inout JSONObject) {
        guard !core.isCore(npmName) else { return }
        AgentConfigEdits.setEnabled(npmName, enabled, optionalCore: core.isOptionalCore(npmName), in: &document)
    }

    /// Sets (or with nil, removes) `env.<key>`.
    public static func setSetting(_ key: String, _ value: String?, in document: inout JSONObject) {
        var env = document["env"]?.objectValue ?? JSONObject()
        env[key] = value.map(JSONValue.string)
        document["env"] = .object(env)
    }
}

extension PluginService {
    /// Secrets a change replaced or removed while the runtime may still quote them: scrubbed from its errors.
    public func retire(secrets: [String]) {
        for value in secrets { retiredSecrets.add(value) }
    }
}

extension PluginService {
    /// The runtime's text (a load error) as it may leave plugind: configured secrets and every stored sensitive value
    /// masked, as the plugin list masks its `loadError`.
    public func scrubbedRuntimeText(_ text: String) -> String {
        let scrubbed = scrub(text)
        guard let document = try? configFile.read(), let board = try? board(config: document) else { return scrubbed }
        return board.scrubStoredSecrets(scrubbed)
    }
}
