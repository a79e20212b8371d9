/// What the heartbeat (and the registration) tells the registry about the agent. The executable builds
/// it from the plugin catalogue and the runtime, so this module knows nothing of either.
public struct HeartbeatContent: Sendable, Equatable {
    /// One plugin as the registry sees it (encoded with its members in this order).
    public struct Plugin: Sendable, Equatable, Encodable {
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

    /// The request body: registration and heartbeat carry the same fields, in this order, nil as null.
    struct Body: Encodable, Sendable {
        struct Runtime: Encodable, Sendable {
            let state: String
        }

        let name: String
        let uri: String?
        let version: String
        let runtime: Runtime
        let plugins: [Plugin]
    }

    func body(defaultName: String, uri: String?) -> Body {
        Body(name: agentName ?? defaultName, uri: uri, version: plugindVersion, runtime: Body.Runtime(state: runtimeState), plugins: plugins)
    }
}
