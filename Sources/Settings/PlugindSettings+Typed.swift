import JSON

/// The settings the services are built from, by group and typed (validated when the settings were read, so no
/// value here can be missing or of the wrong kind).
extension PlugindSettings {
    /// Every timeout, in milliseconds.
    public struct Timeouts: Sendable {
        public let connectMs, fetchMs, tarballMs, tarballIdleMs, npmMs, gitMs, buildMs, checkMs, bridgeMs, operationMs, shutdownMs: Int
    }

    public var timeouts: Timeouts {
        Timeouts(
            connectMs: timeout("connectMs"), fetchMs: timeout("fetchMs"), tarballMs: timeout("tarballMs"), tarballIdleMs: timeout("tarballIdleMs"),
            npmMs: timeout("npmMs"), gitMs: timeout("gitMs"), buildMs: timeout("buildMs"), checkMs: timeout("checkMs"),
            bridgeMs: timeout("bridgeMs"), operationMs: timeout("operationMs"), shutdownMs: timeout("shutdownMs"))
    }

    /// Where packages come from, and how far a tree of them may go.
    public struct Npm: Sendable {
        public struct Scope: Sendable {
            public let scope: String
            public let registry: String
            public let token: String?
        }

        public let registry: String
        public let token: String?
        /// Private scopes, in the order the settings list them.
        public let scopes: [Scope]
        public let allowUnlistedPackages: Bool
        public let requireSignatures: Bool
        public let allowSha1Integrity: Bool
        public let maxTreePackages: Int
        public let maxTreeUnpackedBytes: Int64
        /// `plugind runner`'s socket; nil: plugind runs npm and git itself.
        public let installerSocket: String?
    }

    public var npm: Npm {
        Npm(
            registry: string("npmRegistry") ?? "", token: string("npmRegistryToken"),
            scopes: (values["npmScopes"]?.objectValue ?? JSONObject()).map {
                Npm.Scope(scope: $0.key, registry: $0.value["registry"]?.stringValue ?? "", token: $0.value["token"]?.stringValue)
            },
            allowUnlistedPackages: bool("allowUnlistedPackages"), requireSignatures: bool("requireSignatures"),
            allowSha1Integrity: bool("allowSha1Integrity"), maxTreePackages: integer("maxTreePackages"),
            maxTreeUnpackedBytes: Int64(integer("maxTreeUnpackedMiB")) << 20, installerSocket: string("installerSocket"))
    }

    /// The community plugin registry.
    public struct PluginRegistry: Sendable {
        public let urls: [String]
        public let ttlSeconds: Int
        public let retrySeconds: Int
        /// `auto` or a channel name such as `v1`.
        public let channel: String
        public let maxBytes: Int
        /// What registry repositories (owner/repo) are resolved against, for eject.
        public let gitBaseURL: String
        /// Eject may clone file:// repositories the catalogue names (the development stack's example plugins).
        public let allowLocalRepositories: Bool
    }

    public var pluginRegistry: PluginRegistry {
        PluginRegistry(
            urls: strings("pluginRegistryUrls"), ttlSeconds: integer("registryTtlSeconds"), retrySeconds: integer("registryRetrySeconds"),
            channel: string("registryChannel") ?? "auto", maxBytes: integer("registryMaxBytes"), gitBaseURL: string("gitBaseUrl") ?? "https://github.com/",
            allowLocalRepositories: bool("allowLocalRepositories"))
    }

    /// The agent registry this agent may register with.
    public struct AgentRegistry: Sendable {
        public let url: String
        public let autoRegister: Bool
        public let syncIntervalMs: Int
        public let agentName: String
        public let publicURI: String?
    }

    public var agentRegistry: AgentRegistry {
        AgentRegistry(
            url: string("agentRegistryUrl") ?? "", autoRegister: bool("autoRegister"), syncIntervalMs: integer("syncIntervalMs"),
            agentName: string("agentName") ?? "agent", publicURI: string("publicUri"))
    }

    /// The agent: its plugins and its runtime.
    public struct Agent: Sendable {
        /// The runtime bridge's address; nil when no runtime is attached (`none`).
        public let runtimeBridge: String?
        public let autoRestart: Bool
        public let restartDebounceMs: Int
        public let verdictTimeoutMs: Int
        public let keptVersions: Int
        public let npmCacheMaxMiB: Int
        public let catalogue: String?
        public let bundledPluginsDir: String?
        public let corePlugins: [String]
        public let optionalCorePlugins: [String]
    }

    public var agent: Agent {
        let bridge = string("runtimeBridge")
        return Agent(
            runtimeBridge: bridge == "none" ? nil : bridge, autoRestart: bool("autoRestart"), restartDebounceMs: integer("restartDebounceMs"),
            verdictTimeoutMs: integer("verdictTimeoutMs"), keptVersions: integer("keptVersions"), npmCacheMaxMiB: integer("npmCacheMaxMiB"),
            catalogue: string("catalogue"), bundledPluginsDir: string("bundledPluginsDir"), corePlugins: strings("corePlugins"),
            optionalCorePlugins: strings("optionalCorePlugins"))
    }

    /// What plugins are checked against before they are installed (issue 19).
    public struct Compatibility: Sendable {
        /// The `agentCoreVersion` setting, as written; nil: read from the bundled plugins directory.
        public let agentCoreVersion: String?
        /// `low`, `moderate`, `high` or `critical`: advisories at or above it refuse an install.
        public let advisoryBlockSeverity: String
    }

    public var compatibility: Compatibility {
        Compatibility(agentCoreVersion: string("agentCoreVersion"), advisoryBlockSeverity: string("advisoryBlockSeverity") ?? "critical")
    }

    /// Outbound connections: an extra CA, and the origins a redirect may lead to besides each service's own.
    public var caFile: String? { string("caFile") }
    public var redirectOrigins: [String] { strings("redirectOrigins") }
}
