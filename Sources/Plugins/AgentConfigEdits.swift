import JSON

/// The edits plugind makes to the agent config, in one place, so every route writes the same keys.
public enum AgentConfigEdits {
    /// Writes the one enabled rule: `plugins.allow` for optional-core, `plugins.entries` for the rest,
    /// and `features.<id>` for the three Milady keeps there too.
    public static func setEnabled(_ npmName: String, _ enabled: Bool, optionalCore: Bool, in document: inout JSONObject) {
        var plugins = document["plugins"]?.objectValue ?? JSONObject()
        let configKey = PluginIdentity.configKey(npmName)
        if optionalCore {
            var allow = plugins["allow"]?.arrayValue ?? []
            allow.removeAll { $0.stringValue.map(PluginIdentity.npmName(fromConfigKey:)) == npmName }
            if enabled { allow.append(.string(npmName)) }
            plugins["allow"] = .array(allow)
        } else {
            var entries = plugins["entries"]?.objectValue ?? JSONObject()
            var entry = entries[configKey]?.objectValue ?? JSONObject()
            entry["enabled"] = .bool(enabled)
            entries[configKey] = .object(entry)
            plugins["entries"] = .object(entries)
        }
        document["plugins"] = .object(plugins)
        let shortId = PluginIdentity.shortId(npmName)
        if npmName.hasPrefix("@elizaos/plugin-"), CorePolicy.featureFlagged.contains(shortId) {
            var features = document["features"]?.objectValue ?? JSONObject()
            if var object = features[shortId]?.objectValue {
                object["enabled"] = .bool(enabled)
                features[shortId] = .object(object)
            } else {
                features[shortId] = .bool(enabled)
            }
            document["features"] = .object(features)
        }
    }

    /// Removes every trace of enablement: the entry's `enabled`, the allow-list entry, the feature flag.
    public static func removeEnablement(_ npmName: String, in document: inout JSONObject) {
        var plugins = document["plugins"]?.objectValue ?? JSONObject()
        let configKey = PluginIdentity.configKey(npmName)
        if var entries = plugins["entries"]?.objectValue, var entry = entries[configKey]?.objectValue {
            entry["enabled"] = nil
            entries[configKey] = entry.isEmpty ? nil : .object(entry)
            plugins["entries"] = .object(entries)
        }
        if var allow = plugins["allow"]?.arrayValue {
            allow.removeAll { $0.stringValue.map(PluginIdentity.npmName(fromConfigKey:)) == npmName }
            plugins["allow"] = .array(allow)
        }
        document["plugins"] = .object(plugins)
    }

    /// `plugins.installs.<npm name>` in Milady's shape.
    public static func setInstallRecord(_ npmName: String, _ record: JSONValue?, in document: inout JSONObject) {
        var plugins = document["plugins"]?.objectValue ?? JSONObject()
        var installs = plugins["installs"]?.objectValue ?? JSONObject()
        installs[npmName] = record
        plugins["installs"] = .object(installs)
        document["plugins"] = .object(plugins)
    }

    public static func installRecord(_ npmName: String, in document: JSONObject) -> JSONValue? {
        document["plugins"]?["installs"]?[npmName]
    }

    /// Whether a non-core plugin is enabled by the one rule.
    public static func isEnabled(_ npmName: String, optionalCore: Bool, in document: JSONObject) -> Bool {
        if optionalCore {
            return (document["plugins"]?["allow"]?.arrayValue ?? []).contains { $0.stringValue.map(PluginIdentity.npmName(fromConfigKey:)) == npmName }
        }
        return document["plugins"]?["entries"]?[PluginIdentity.configKey(npmName)]?["enabled"]?.boolValue ?? false
    }
}
