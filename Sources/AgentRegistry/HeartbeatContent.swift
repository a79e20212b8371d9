import JSON

/// What the heartbeat (and the registration) tells the registry about the agent. The executable builds
/// it from the plugin catalogue and the runtime, so this module knows nothing of either.
public struct HeartbeatContent: Sendable, Equatable {
    /// One plugin as the registry sees it.
    public struct Plugin: Sendable, Equatable {
        /// The npm name.
        public var name: String
        /// The installed (or bundled) version; nil when unknown.
        public var version: String?
        public var installed: Bool
        public var enabled: Bool
        /// The runtime reports it loaded.
        public var loaded: Bool

        public init(name: String, version: String?, installed: Bool, enabled: Bool, loaded: Bool) {
            self.name = name
            self.version = version
            self.installed = installed
            self.enabled = enabled
            self.loaded = loaded
        }

        var json: JSONValue {
            [
                "name": .string(name), "version": .string(version), "installed": .bool(installed), "enabled": .bool(enabled),
                "loaded": .bool(loaded),
            ]
        }
    }

    /// The agent's name; nil uses the configured `agentName`.
    public var agentName: String?
    /// plugind's own version.
    public var plugindVersion: String
    /// The runtime's state as the bridge reports it (`running`, `stopped`, …), or `none` without a runtime.
    public var runtimeState: String
    public var plugins: [Plugin]

    public init(agentName: String? = nil, plugindVersion: String, runtimeState: String, plugins: [Plugin]) {
        self.agentName = agentName
        self.plugindVersion = plugindVersion
        self.runtimeState = runtimeState
        self.plugins = plugins
    }

    /// The request body: registration and heartbeat carry the same fields.
    func body(defaultName: String, uri: String?) -> JSONValue {
        [
            "name": .string(agentName ?? defaultName), "uri": .string(uri), "version": .string(plugindVersion),
            "runtime": ["state": .string(runtimeState)], "plugins": .array(plugins.map(\.json)),
        ]
    }
}
