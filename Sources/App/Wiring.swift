import API
import Adapters
import AgentRegistry
import Eject
import Foundation
import HTTPKit
import Install
import JSON
import Logging
import Operations
import Plugins
import Registry
import Runner
import Runtime
import Settings
import Stores

/// The composition root: builds the stores and services from the settings and hands the route table to the
/// gates. The executable serves it; the in-process API tests drive its gatekeeper directly.
public struct Wiring {
    public let settings: PlugindSettings
    public let database: StateDB
    public let operations: OperationRunner
    public let gatekeeper: Gatekeeper
    public let scheduler: RestartScheduler?
    public let registry: RegistryService
    public let install: InstallService
    public let eject: EjectService
    public let agentRegistry: AgentRegistryService
    public let agentConfig: AgentConfigFile
    /// Runs npm, git and builds as the installer user (through `plugind runner` when one is configured).
    public let installer: any Installer

    public init(settings: PlugindSettings, logger: Logger) throws {
        self.settings = settings
        try FileManager.default.createDirectory(atPath: settings.stateDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        database = try StateDB(path: settings.databasePath)
        operations = OperationRunner(
            store: OperationStore(db: database), maxConcurrent: settings.maxConcurrentOperations,
            deadline: .milliseconds(settings.timeout("operationMs")), logger: logger)
        let agentConfig = AgentConfigFile(path: settings.agentConfigPath, readerGroup: try settings.agentConfigGroupID())
        try agentConfig.applyReaderAccess()
        self.agentConfig = agentConfig
        let scrubber = SecretScrubber(secrets: settings.secrets)
        let reasons = RestartReasonStore(db: database)
        let runtimeView: any RuntimeView
        if settings.string("runtimeBridge") == "none" {
            runtimeView = NoRuntime()
            scheduler = nil
        } else {
            let bridge = BridgeRuntime(client: RuntimeBridgeClient(
                endpoint: settings.string("runtimeBridge")!, callTimeoutMs: settings.timeout("bridgeMs"), checkTimeoutMs: settings.timeout("checkMs")))
            runtimeView = bridge
            scheduler = RestartScheduler(
                reasons: reasons, runtime: bridge, debounce: .milliseconds(settings.integer("restartDebounceMs")),
                automatic: settings.bool("autoRestart"), logger: logger)
        }
        let catalogue = CatalogueSource(path: settings.string("catalogue") ?? Self.shippedCatalogue()) { warnings in
            for warning in warnings { logger.warning("catalogue: \(warning)") }
        }
        // Loaded at start, so a broken catalogue or its warnings show up in the log right away.
        do {
            _ = try catalogue.current()
        } catch {
            logger.error("\(error)")
        }
        let pluginPaths = PluginPaths(stateDir: settings.stateDir, bundledPluginsDir: settings.string("bundledPluginsDir"))
        let plugins = PluginService(
            catalogue: catalogue,
            paths: pluginPaths,
            core: CorePolicy(core: settings.strings("corePlugins"), optional: settings.strings("optionalCorePlugins")),
            configFile: agentConfig, runtime: runtimeView, restartReasons: reasons, retiredSecrets: RetiredSecretStore(),
            scrub: { scrubber.scrub($0) })
        guard let channel = ChannelPolicy(settings.string("registryChannel") ?? "auto") else {
            throw SettingsError("registryChannel must be auto or a channel name such as v1, not '\(settings.string("registryChannel") ?? "")'.")
        }
        // Redirects lead only to the services the settings name (each client: its own, plus redirectOrigins).
        let redirectOrigins = settings.strings("redirectOrigins")
        registry = RegistryService(
            configuration: RegistryConfiguration(
                urls: settings.strings("pluginRegistryUrls"), ttl: Double(settings.integer("registryTtlSeconds")),
                retryInterval: Double(settings.integer("registryRetrySeconds")), channel: channel,
                maxDocumentBytes: settings.integer("registryMaxBytes"), gitBaseURL: settings.string("gitBaseUrl") ?? "https://github.com/"),
            client: HTTPClient(configuration: .init(
                connectTimeout: .milliseconds(settings.timeout("connectMs")), totalTimeout: .milliseconds(settings.timeout("fetchMs")),
                idleTimeout: .milliseconds(settings.timeout("fetchMs")), caFile: settings.string("caFile"),
                redirectOrigins: Set(redirectOrigins + settings.strings("pluginRegistryUrls")))),
            database: database, logger: logger)
        let environment = ProcessInfo.processInfo.environment
        // One npm registry client and one way of running npm, shared by installing and ejecting.
        var npmConfiguration = RegistryConfiguration(
            base: settings.string("npmRegistry")!, token: settings.string("npmRegistryToken"), connectTimeoutMs: settings.timeout("connectMs"),
            fetchTimeoutMs: settings.timeout("fetchMs"), tarballTimeoutMs: settings.timeout("tarballMs"),
            tarballIdleMs: settings.timeout("tarballIdleMs"), caFile: settings.string("caFile"), redirectOrigins: redirectOrigins)
        for scope in settings.values["npmScopes"]?.objectValue ?? JSONObject() {
            npmConfiguration.scopes[scope.key] = .init(registry: scope.value["registry"]?.stringValue ?? "", token: scope.value["token"]?.stringValue)
        }
        let npmClient = NpmRegistryClient(npmConfiguration)
        let layout = InstallLayout(stateDir: settings.stateDir)
        let installerSettings = InstallerSettings(
            registry: npmConfiguration,
            policy: TreePolicy(
                maxPackages: settings.integer("maxTreePackages"), maxUnpackedBytes: Int64(settings.integer("maxTreeUnpackedMiB")) << 20,
                allowSha1: settings.bool("allowSha1Integrity"), requireSignatures: settings.bool("requireSignatures")),
            npmTimeoutMs: settings.timeout("npmMs"))
        let localInstaller = LocalInstaller(
            settings: installerSettings, layout: layout, path: environment["PATH"] ?? ChildProcess.defaultSearchPath, scrubber: scrubber)
        // npm, git and a repository's build run as the installer: through `plugind runner` when one is configured.
        let installer: any Installer = settings.string("installerSocket").map { RunnerClient(socket: $0, settings: installerSettings) } ?? localInstaller
        self.installer = installer
        install = InstallService(
            layout: layout,
            registry: npmClient,
            installer: installer,
            configFile: agentConfig, operations: operations, reasons: reasons, history: InstallHistoryStore(db: database),
            listing: RegistryListingAdapter(registry: registry), core: CorePolicy(core: settings.strings("corePlugins"), optional: settings.strings("optionalCorePlugins")),
            catalogue: catalogue, allowUnlisted: settings.bool("allowUnlistedPackages"),
            scrubber: scrubber, logger: logger)
        let registryForEject = registry
        eject = EjectService(
            stateDir: settings.stateDir, gitBaseUrl: settings.string("gitBaseUrl") ?? "https://github.com/", configFile: agentConfig,
            operations: operations, reasons: reasons, npmRegistry: npmClient, installer: installer,
            gitTimeoutMs: settings.timeout("gitMs"), buildTimeoutMs: settings.timeout("buildMs"), scrubber: scrubber,
            bundledVersion: { pluginPaths.bundledVersion(of: $0) }
        ) { name in
            guard let entry = try? registryForEject.entry(named: name) else { return nil }
            let branch = entry.channels.first { $0.name == entry.versionChannel }?.gitBranch ?? entry.channels.compactMap(\.gitBranch).first
            return PluginSource(gitRepo: entry.gitRepo, branch: branch, directory: entry.directory)
        }
        let runtimeForHeartbeat = runtimeView
        agentRegistry = AgentRegistryService(
            configuration: AgentRegistryConfiguration(
                registryURL: settings.string("agentRegistryUrl")!, autoRegister: settings.bool("autoRegister"),
                syncIntervalMs: settings.integer("syncIntervalMs"), agentName: settings.string("agentName") ?? "agent",
                publicURI: settings.string("publicUri")),
            client: HTTPClient(configuration: .init(
                connectTimeout: .milliseconds(settings.timeout("connectMs")), totalTimeout: .milliseconds(settings.timeout("fetchMs")),
                idleTimeout: .milliseconds(settings.timeout("fetchMs")), caFile: settings.string("caFile"),
                redirectOrigins: Set(redirectOrigins + [settings.string("agentRegistryUrl")!]))),
            database: database,
            content: {
                HeartbeatContent(
                    plugindVersion: PlugindVersion.current,
                    runtimeState: runtimeForHeartbeat.attached ? (runtimeForHeartbeat.snapshot()?.state ?? "unreachable") : "none",
                    plugins: plugins.heartbeatPlugins().map {
                        HeartbeatContent.Plugin(name: $0.name, version: $0.version, installed: $0.installed, enabled: $0.enabled, loaded: $0.loaded)
                    })
            },
            logger: logger)
        let deps = Dependencies(
            version: PlugindVersion.current, settings: settings, database: database,
            agentConfig: agentConfig, operations: operations, plugins: plugins,
            runtime: RuntimeService(runtime: runtimeView, scheduler: scheduler, reasons: reasons), registry: registry,
            install: install, eject: eject, agentRegistry: agentRegistry)
        gatekeeper = Gatekeeper(
            router: Router(RouteTable.routes(deps)), tokens: TokenVerification(store: TokenStore(path: settings.tokensPath)),
            publicOrigins: settings.publicOrigins, logger: logger,
            requestLog: LineRequestLog(label: logger.label, level: Logger.Level(rawValue: settings.logLevel) ?? .info))
    }
}

extension Wiring {
    /// The catalogue shipped with plugind: `share/plugind/plugins.json` beside an installed binary,
    /// else `catalogue/plugins.json` of the source tree the binary was built in.
    static func shippedCatalogue() -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        let installed = directory.deletingLastPathComponent().appendingPathComponent("share/plugind/plugins.json").path
        if FileManager.default.fileExists(atPath: installed) { return installed }
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("catalogue/plugins.json").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }
}

/// The plugin registry, as installing asks about it.
struct RegistryListingAdapter: RegistryListing {
    let registry: RegistryService
    func isListed(_ npmName: String) -> Bool? { registry.isListed(npmName) }
    var unavailableReason: String { registry.lastError ?? "no snapshot has been fetched yet" }
    func latestVersion(_ npmName: String) -> String? { (try? registry.entry(named: npmName))??.version }
}

/// The token file, as the gates ask about it.
struct TokenVerification: TokenVerifier {
    let store: TokenStore
    func role(forToken token: String) -> Role? {
        switch store.role(of: token) {
        case .admin: .admin
        case .read: .read
        case nil: nil
        }
    }
}
