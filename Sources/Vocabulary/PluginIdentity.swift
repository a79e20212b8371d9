/// Ids, config keys and directory names, all derived from the npm name by one set of rules.
public enum PluginIdentity {
    /// The npm name without `@scope/` and without a leading `plugin-`.
    public static func shortId(_ npmName: String) -> String {
        var name = Substring(npmName)
        if name.hasPrefix("@"), let slash = name.firstIndex(of: "/") { name = name[name.index(after: slash)...] }
        if name.hasPrefix("plugin-") && name.count > "plugin-".count { name = name.dropFirst("plugin-".count) }
        return String(name)
    }

    /// The key under `plugins.entries` and `features`: the short id for `@elizaos/plugin-*`, else the npm name.
    public static func configKey(_ npmName: String) -> String {
        npmName.hasPrefix("@elizaos/plugin-") ? shortId(npmName) : npmName
    }

    /// A key found in the agent config, back to an npm name (short ids are `@elizaos/plugin-*`).
    public static func npmName(fromConfigKey key: String) -> String {
        key.contains("/") || key.hasPrefix("@") ? key : "@elizaos/plugin-" + key
    }

    /// Milady's install directory rule: every character outside `[A-Za-z0-9._-]` becomes `_`.
    public static func directoryName(_ npmName: String) -> String {
        String(npmName.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
    }

    /// Assigns ids: the short id when unique; when several share it the `@elizaos/` one keeps it
    /// and the others use their npm names.
    public static func assignIds(_ keys: [String]) -> [String: String] {
        var groups: [String: [String]] = [:]
        for key in keys { groups[shortId(key), default: []].append(key) }
        var ids: [String: String] = [:]
        for (short, members) in groups {
            if members.count == 1 {
                ids[members[0]] = short
                continue
            }
            let keeper = members.first { $0.hasPrefix("@elizaos/") }
            for member in members { ids[member] = member == keeper ? short : member }
        }
        return ids
    }

    /// The outcome of resolving a path's `:id`.
    public enum Resolution: Equatable, Sendable {
        case found(String)
        case ambiguous([String])
        case notFound
    }

    /// One resolver for every route: exact id, exact npm name, `@elizaos/plugin-<x>`, `@elizaos/<x>`,
    /// then a unique name ending in `/<x>` or `/plugin-<x>`.
    public static func resolve(_ text: String, keys: [String], ids: [String: String]) -> Resolution {
        if let byId = keys.first(where: { ids[$0] == text }) { return .found(byId) }
        let set = Set(keys)
        for candidate in [text, "@elizaos/plugin-" + text, "@elizaos/" + text] where set.contains(candidate) {
            return .found(candidate)
        }
        let suffixes = ["/" + text, "/plugin-" + text]
        let matches = keys.filter { key in suffixes.contains { key.hasSuffix($0) } }.sorted()
        switch matches.count {
        case 0: return .notFound
        case 1: return .found(matches[0])
        default: return .ambiguous(matches)
        }
    }
}
