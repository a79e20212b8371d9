import JSON
import Vocabulary

/// What a write of the agent config changed, in the audit trail's words: setting names (never a value), enabled
/// flags and installed versions. Computed from the documents before and after, so every route that writes the file
/// is covered alike, whatever it edited.
public enum ConfigChanges {
    /// `settingsOwner` is the plugin whose request changed `env` (its keys are global to the agent; the request says
    /// whose settings they were); nil when the request named none.
    public static func between(_ old: JSONObject, _ new: JSONObject, settingsOwner: String?) -> [JSONValue] {
        settings(old, new, owner: settingsOwner) + enabled(old, new) + versions(old, new)
    }

    /// `env.<KEY>`: set (was absent or null), unset (now absent or null), changed (both present, different).
    static func settings(_ old: JSONObject, _ new: JSONObject, owner: String?) -> [JSONValue] {
        let before = old["env"]?.objectValue ?? JSONObject()
        let after = new["env"]?.objectValue ?? JSONObject()
        var changes: [JSONValue] = []
        for key in union(before.keys, after.keys) {
            let was: JSONValue? = before[key].flatMap { $0.isNull ? nil : Optional($0) }
            let now: JSONValue? = after[key].flatMap { $0.isNull ? nil : Optional($0) }
            let action: String
            switch (was, now) {
            case (nil, nil): continue
            case (nil, _): action = "set"
            case (_, nil): action = "unset"
            case (let a?, let b?):
                guard a != b else { continue }
                action = "changed"
            }
            changes.append(change(owner, "setting", [("name", .string(key)), ("action", .string(action))]))
        }
        return changes
    }

    /// Enablement as the config says it: `plugins.entries.<key>.enabled` (absent is off) and membership of
    /// `plugins.allow` (how optional-core plugins are on). Each that changed is one change; both changing the same
    /// way for one plugin is still one.
    static func enabled(_ old: JSONObject, _ new: JSONObject) -> [JSONValue] {
        var changes: [JSONValue] = []
        var reported: Set<String> = []
        for (before, after) in [(entryFlags(old), entryFlags(new)), (allowed(old), allowed(new))] {
            for name in union(before.keys.sorted(), after.keys.sorted()) where !reported.contains(name) {
                let was = before[name] ?? false
                let now = after[name] ?? false
                guard was != now else { continue }
                reported.insert(name)
                changes.append(change(name, "enabled", [("from", .bool(was)), ("to", .bool(now))]))
            }
        }
        return changes
    }

    private static func entryFlags(_ document: JSONObject) -> [String: Bool] {
        var flags: [String: Bool] = [:]
        for entry in document["plugins"]?["entries"]?.objectValue ?? JSONObject() {
            flags[PluginIdentity.npmName(fromConfigKey: entry.key)] = entry.value["enabled"]?.boolValue == true
        }
        return flags
    }

    private static func allowed(_ document: JSONObject) -> [String: Bool] {
        var flags: [String: Bool] = [:]
        for item in document["plugins"]?["allow"]?.arrayValue ?? [] {
            if let key = item.stringValue { flags[PluginIdentity.npmName(fromConfigKey: key)] = true }
        }
        return flags
    }

    /// `plugins.installs.<npm name>.version`; a record added is an install (from null), one removed an uninstall (to null).
    static func versions(_ old: JSONObject, _ new: JSONObject) -> [JSONValue] {
        let before = old["plugins"]?["installs"]?.objectValue ?? JSONObject()
        let after = new["plugins"]?["installs"]?.objectValue ?? JSONObject()
        var changes: [JSONValue] = []
        for name in union(before.keys, after.keys) {
            let was = before[name], now = after[name]
            let wasVersion = was?["version"]?.stringValue
            let nowVersion = now?["version"]?.stringValue
            guard wasVersion != nowVersion || (was == nil) != (now == nil) else { continue }
            changes.append(change(
                name, "version", [("from", wasVersion.map(JSONValue.string) ?? .null), ("to", nowVersion.map(JSONValue.string) ?? .null)]))
        }
        return changes
    }

    static func change(_ plugin: String?, _ kind: String, _ members: [(String, JSONValue)]) -> JSONValue {
        var object = JSONObject()
        object["plugin"] = plugin.map(JSONValue.string) ?? .null
        object["kind"] = .string(kind)
        for (key, value) in members { object[key] = value }
        return .object(object)
    }

    /// The names of both lists, each once, in the order first seen.
    private static func union(_ a: some Sequence<String>, _ b: some Sequence<String>) -> [String] {
        var seen: Set<String> = []
        return (Array(a) + Array(b)).filter { seen.insert($0).inserted }
    }
}
