import JSON

/// One setting: its name in the settings file, its environment variable, its kind and default.
public struct SettingSpec: Sendable {
    public enum Kind: Sendable {
        case string
        case optionalString
        case path
        case optionalPath
        /// A version such as `1.4.0` or `2.0.0-alpha.3` (registry text, read leniently), or null.
        case optionalVersion
        case integer(ClosedRange<Int>)
        case boolean
        /// An absolute http(s) URL; http only for loopback unless `insecureAllowed`.
        case url
        case urlList
        /// `scheme://host[:port]` with nothing after it.
        case originList
        case fileMode
        case choice([String])
        case stringList
        /// `{"@scope": {"registry": "https://…/", "token": "…"}}`: private scopes and where they come from.
        case scopeMap
    }

    public let key: String
    public let environment: String
    public let kind: Kind
    public let defaultValue: JSONValue
    /// Shown as `****` by `GET /api/settings`.
    public let secret: Bool
    public let summary: String

    init(_ key: String, _ kind: Kind, _ defaultValue: JSONValue, secret: Bool = false, env: String? = nil, _ summary: String) {
        self.key = key
        self.kind = kind
        self.defaultValue = defaultValue
        self.secret = secret
        self.summary = summary
        self.environment = env ?? "PLUGIND_" + SettingSpec.snake(key)
    }

    /// `timeouts.connectMs` → `TIMEOUT_CONNECT_MS`.
    static func snake(_ key: String) -> String {
        var out = ""
        let parts = key.split(separator: ".")
        for (index, part) in parts.enumerated() {
            var word = String(part)
            if index == 0 && parts.count > 1 && word.hasSuffix("s") { word.removeLast() }  // timeouts → TIMEOUT
            if !out.isEmpty { out += "_" }
            for ch in word {
                if ch.isUppercase { out += "_" }
                out += ch.uppercased()
            }
        }
        return out
    }
}

/// Every setting plugind has, with its default. This table is the settings reference.
public enum SettingsTable {
    static let ms = 1...86_400_000

    public static let all: [SettingSpec] = [
        SettingSpec("stateDir", .path, "/var/lib/plugind", "Directory for the database, tokens, installed and ejected plugins."),
        SettingSpec("socket", .path, "/run/plugind/plugind.sock", "Unix socket path plugind creates when no socket is inherited (systemd or fd 0)."),
        SettingSpec("socketMode", .fileMode, "0660", "Permission bits of a socket plugind creates (octal)."),
        SettingSpec("socketGroup", .optionalString, nil, "Group given to a socket plugind creates (nginx's workers must be able to write to it)."),
        SettingSpec("threads", .integer(2...256), 16, "Worker threads answering FastCGI requests."),
        SettingSpec("maxBodyBytes", .integer(1024...(64 << 20)), .number(1 << 20), "Largest request body accepted; keep nginx's client_max_body_size equal."),
        SettingSpec("publicOrigins", .originList, [], "Origins besides the request's own from which changes are accepted (scheme://host:port)."),
        SettingSpec("agentConfigPath", .optionalPath, nil, env: "PLUGIND_AGENT_CONFIG", "The agent's JSON config file; default <stateDir>/milady.json."),
        SettingSpec("agentConfigGroup", .optionalString, nil, "Group that may read the agent config (the agent runtime's, when it runs as its own user): the file is then 0640 with that group; unset: 0600."),
        SettingSpec("catalogue", .optionalPath, nil, "Bundled plugin catalogue (plugin-index-v1); default: the one shipped with plugind (share/plugind/plugins.json beside the binary, or the repository's catalogue/plugins.json)."),
        SettingSpec("bundledPluginsDir", .optionalPath, nil, "The agent's own node_modules; catalogue plugins found there are available."),
        SettingSpec("agentCoreVersion", .optionalVersion, nil, "The @elizaos/core version the agent runs, which plugins are checked against; unset: read from <bundledPluginsDir>/@elizaos/core/package.json; neither: compatibility is unknown and never blocks an install."),
        SettingSpec("advisoryBlockSeverity", .choice(["low", "moderate", "high", "critical"]), "critical", "Security advisories of this severity or above refuse an install (409) unless the request says force; lower ones are warnings."),
        SettingSpec("npmRegistry", .url, "https://registry.npmjs.org/", "npm registry for packuments and tarballs (may have a path prefix)."),
        SettingSpec("npmRegistryToken", .optionalString, nil, secret: true, "Bearer token for the npm registry; sent only to the registry itself, never handed to npm."),
        SettingSpec("npmScopes", .scopeMap, [:], secret: true, env: "PLUGIND_NPM_SCOPES", "Private scopes: {\"@scope\": {\"registry\": URL, \"token\": optional}}; a package of such a scope, and every dependency in it, comes from that registry only, its token sent there only."),
        SettingSpec("pluginRegistryUrls", .urlList, [
            "https://plugins.elizacloud.ai/generated-registry.json",
            "https://raw.githubusercontent.com/elizaos-plugins/registry/next/generated-registry.json",
            "https://plugins.elizacloud.ai/index.json",
            "https://raw.githubusercontent.com/elizaos-plugins/registry/next/index.json",
        ], "Community plugin registry documents, tried in order."),
        SettingSpec("registryTtlSeconds", .integer(1...604_800), 3_600, "How long a plugin registry snapshot counts as fresh; a stale one is refreshed in the background."),
        SettingSpec("registryRetrySeconds", .integer(1...86_400), 60, "After a failed background refresh, reads leave the upstream alone this long."),
        SettingSpec("registryChannel", .string, "auto", "Registry channel whose version is offered: auto (highest stable among supported channels) or a channel name (v0, v1, v2, alpha, …)."),
        SettingSpec("registryMaxBytes", .integer(1024...(512 << 20)), .number(32 << 20), "Largest plugin registry document accepted."),
        SettingSpec("allowUnlistedPackages", .boolean, false, "Allow installing npm packages the plugin registry does not list."),
        SettingSpec("requireSignatures", .boolean, false, "Refuse packages without npm registry signatures (every package of the tree, dependencies included)."),
        SettingSpec("allowSha1Integrity", .boolean, false, "Accept packages whose registry entry publishes only a sha1 checksum (old packages); off: sha512 integrity is required."),
        SettingSpec("maxTreePackages", .integer(1...100_000), 2_000, "Most packages one install may bring, the plugin and all its dependencies."),
        SettingSpec("maxTreeUnpackedMiB", .integer(1...65_536), 500, env: "PLUGIND_MAX_TREE_UNPACKED_MIB", "Most MiB one install's packages may unpack to, measured while plugind inspects their tarballs."),
        SettingSpec("gitBaseUrl", .url, "https://github.com/", "Base URL that registry git repositories (owner/repo) are resolved against."),
        SettingSpec("allowLocalRepositories", .boolean, false, "Let eject clone the local (file://) repositories a catalogue entry's repository names; scripts/run turns it on for its example plugins. Off: catalogue repositories must be https."),
        SettingSpec("agentRegistryUrl", .url, "https://registry.elizaos.com", "Agent registry this agent may register with."),
        SettingSpec("autoRegister", .boolean, false, "Register with the agent registry by itself at start; this publishes the agent's name, public URI and plugin list."),
        SettingSpec("syncIntervalMs", .integer(1_000...86_400_000), 300_000, "Time between heartbeats to the agent registry."),
        SettingSpec("agentName", .string, "agent", "The name the agent is listed under in the agent registry."),
        SettingSpec("publicUri", .optionalString, nil, "The agent's public URI for the agent registry (http(s)); one set through update-uri wins."),
        SettingSpec("runtimeBridge", .string, "unix:/run/plugind-agent/bridge.sock", "Runtime bridge address: unix:<path>, http://127.0.0.1:<port>, or none (no runtime attached)."),
        SettingSpec("autoRestart", .boolean, true, "Restart the agent by itself after changes that need it (after restartDebounceMs of quiet)."),
        SettingSpec("restartDebounceMs", .integer(0...600_000), 1_500, "Quiet period before pending restart reasons are sent, so several changes cost one restart."),
        SettingSpec("verdictTimeoutMs", .integer(0...3_600_000), 60_000, "How long an install, upgrade, sync or rollback waits for the agent's restart and its verdict on the plugin (loaded or not, and why); past it the plugin counts as not loaded. Only with a runtime attached and autoRestart on."),
        SettingSpec("clientAnswerWithinMs", .integer(1_000...600_000), 8_000, "How long an install or uninstall from Milady's app (a request with X-Milady-Client-Id and no X-Operation-Id) may take before plugind answers 202 with the operation to follow and finishes it in the background; below the app's 10 s request timeout."),
        SettingSpec("keptVersions", .integer(0...10_000), 20, "Most packages whose previous version is kept for a rollback (one version each; the oldest kept go first); 0 keeps none."),
        SettingSpec("npmCacheMaxMiB", .integer(0...1_048_576), 2_048, env: "PLUGIND_NPM_CACHE_MAX_MIB", "Largest size of npm's cache under plugins/.npm; past it the cache is emptied in the background after an install (npm fills it again as needed). 0 empties it after every install."),
        SettingSpec("installerSocket", .optionalPath, nil, "Unix socket of `plugind runner`, which runs npm, git and builds as the installer user and owns the plugin trees; unset: plugind does it itself."),
        SettingSpec("redirectOrigins", .originList, [], "Origins an outside service's redirect may lead to besides the configured npm registry, plugin registry and agent registry (scheme://host:port); any other redirect is refused."),
        SettingSpec("caFile", .optionalPath, nil, "Extra CA bundle for outbound HTTPS (tests use a local CA)."),
        SettingSpec("corePlugins", .stringList, .strings(coreDefaults), "Core plugins (npm names): always loaded, cannot be disabled."),
        SettingSpec("optionalCorePlugins", .stringList, .strings(optionalDefaults), "Optional-core plugins (npm names): off unless enabled (plugins.allow)."),
        SettingSpec("maxConcurrentOperations", .integer(1...64), 4, "Long operations (install, eject, …) allowed at once; must be below threads. Unset: the smaller of 4 and threads - 1."),
        SettingSpec("auditRetentionDays", .integer(1...36_500), 90, "Days an audit trail entry is kept; older ones are pruned in the background."),
        SettingSpec("auditMaxEntries", .integer(1...10_000_000), 100_000, "Most audit trail entries kept; past it the oldest are pruned in the background."),
        SettingSpec("cliCommand", .optionalString, nil, "How an operator runs this plugind's CLI, as the dashboard's sign-in hint shows it (scripts/run sets its wrapper); unset: plugind's own path, after sudo when it runs as a system user, with --state-dir unless a plain plugind finds the same state directory."),
        SettingSpec("metrics", .boolean, true, "Count requests, operations and refreshes and answer GET /api/metrics in Prometheus' text format; off: nothing is counted and that route answers 404."),
        SettingSpec("logLevel", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), "info", "Least severe log level written to stderr."),
        SettingSpec("timeouts.connectMs", .integer(ms), 5_000, "Connecting to an outside service."),
        SettingSpec("timeouts.fetchMs", .integer(ms), 30_000, "A metadata or JSON fetch, in total."),
        SettingSpec("timeouts.tarballMs", .integer(ms), 120_000, "A tarball download, in total."),
        SettingSpec("timeouts.tarballIdleMs", .integer(ms), 20_000, "A tarball download without a byte."),
        SettingSpec("timeouts.npmMs", .integer(ms), 300_000, "One npm run."),
        SettingSpec("timeouts.gitMs", .integer(ms), 300_000, "One git run."),
        SettingSpec("timeouts.buildMs", .integer(ms), 600_000, "One plugin build."),
        SettingSpec("timeouts.checkMs", .integer(ms), 15_000, "One plugin check (test connection)."),
        SettingSpec("timeouts.bridgeMs", .integer(ms), 1_000, "A runtime bridge status or restart call."),
        SettingSpec("timeouts.operationMs", .integer(ms), 840_000, "A whole operation; keep below nginx's fastcgi_read_timeout."),
        SettingSpec("timeouts.shutdownMs", .integer(ms), 30_000, "How long requests in flight may finish after SIGTERM."),
    ]

    static let coreDefaults = [
        "sql", "local-embedding", "secrets-manager", "form", "knowledge", "rolodex", "trajectory-logger", "agent-orchestrator",
        "coding-agent", "cron", "shell", "plugin-manager", "agent-skills", "pdf", "trust", "todo", "personality", "experience",
    ].map { "@elizaos/plugin-" + $0 }
    static let optionalDefaults = [
        "cua", "obsidian", "code", "repoprompt", "claude-code-workbench", "computeruse", "browser", "vision", "cli", "discord",
        "telegram", "twitch", "edge-tts", "elevenlabs",
    ].map { "@elizaos/plugin-" + $0 }

    public static func spec(_ key: String) -> SettingSpec? { all.first { $0.key == key } }
}
