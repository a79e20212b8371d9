import JSON

/// Where a plugin's description and code come from; a later source overrides an earlier one.
public enum PluginSource: String, Sendable, Comparable {
    case config, bundled, installed, ejected

    var rank: Int {
        switch self {
        case .config: 0
        case .bundled: 1
        case .installed: 2
        case .ejected: 3
        }
    }
    public static func < (a: PluginSource, b: PluginSource) -> Bool { a.rank < b.rank }
}

/// A plugin plugind knows of, from any source, before the agent config is applied.
public struct KnownPlugin: Sendable {
    /// The key everything uses. A catalogue entry without an npm name is keyed by its catalogue id.
    public var key: String
    /// The npm package name, or nil when the catalogue gives none.
    public var npmName: String?
    public var name: String
    public var description: String
    public var category: String
    public var version: String?
    public var source: PluginSource
    public var parameters: [PluginParameter]
    /// The code is present: installed, ejected, or in the agent's bundled plugins directory.
    public var available: Bool
    /// Install or ejected directory, when there is one.
    public var path: String?
    /// The git repository the catalogue names for the plugin's source (a full URL), for eject when the
    /// plugin registry does not list it.
    public var repository: String?
    /// What Milady's app shows besides: the primary key, dependencies, UI hints, an icon.
    public var extras = Extras()

    public struct Extras: Sendable {
        public var envKey: String?
        public var pluginDeps: [String]?
        public var configUiHints: JSONValue?
        public var icon: String?

        public init() {}

        /// From a catalogue entry, or a package.json's `agentConfig` (the same member names).
        init(_ source: JSONValue?) {
            envKey = source?["envKey"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            pluginDeps = source?["pluginDeps"]?.arrayValue?.compactMap(\.stringValue)
            configUiHints = source?["configUiHints"].flatMap { $0.objectValue == nil ? nil : $0 }
            icon = source?["icon"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }

        /// Each member this one lacks, taken from `other`.
        func filled(from other: Extras) -> Extras {
            var result = self
            result.envKey = envKey ?? other.envKey
            result.pluginDeps = pluginDeps ?? other.pluginDeps
            result.configUiHints = configUiHints ?? other.configUiHints
            result.icon = icon ?? other.icon
            return result
        }
    }

    public init(key: String, npmName: String?, name: String, description: String, category: String, version: String?, source: PluginSource, parameters: [PluginParameter], available: Bool, path: String? = nil) {
        self.key = key
        self.npmName = npmName
        self.name = name
        self.description = description
        self.category = category
        self.version = version
        self.source = source
        self.parameters = parameters
        self.available = available
        self.path = path
    }

    static let categories: Set<String> = ["ai-provider", "connector", "streaming", "database", "app", "feature"]

    static func normalisedCategory(_ text: String?) -> String {
        guard let text = text?.lowercased() else { return "feature" }
        return categories.contains(text) ? text : "feature"
    }

    /// "plugin-foo-bar" → "Foo Bar", for plugins that carry no display name.
    static func displayName(forShortId id: String) -> String {
        id.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }

    /// Parameters declared in a package.json: `agentConfig.pluginParameters`, else `elizaos.configKeys`.
    public static func parameters(fromPackage package: JSONValue) -> [PluginParameter] {
        if let declared = package["agentConfig"]?["pluginParameters"]?.objectValue {
            return declared.map { PluginParameter(key: $0.key, declaration: $0.value) }
        }
        if let keys = package["elizaos"]?["configKeys"] {
            if let list = keys.arrayValue {
                return list.compactMap(\.stringValue).map { PluginParameter(key: $0, type: .string) }
            }
            if let object = keys.objectValue {
                return object.map { PluginParameter(key: $0.key, declaration: $0.value) }
            }
        }
        return []
    }
}
