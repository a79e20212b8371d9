import API
import Adapters
import AgentRegistry
import Audit
import Eject
import Foundation
import HTTPKit
import Install
import JSON
import Logging
import Manifest
import Operations
import Plugins
import Registry
import Runner
import Runtime
import SemVer
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
    /// The plugins as the API shows them (the list, one plugin's details, a config change).
    public let plugins: PluginService
    /// The audit trail: its recovery runs at start, before anything writes the agent config; then its pruner.
    public let audit: AuditTrail
    /// Export, plan and apply of the plugin set (its recovery is registered at start).
    public let manifest: ManifestService
    /// Runs npm, git and builds as the installer user (through `plugind runner` when one is configured).
    public let installer: any Installer
    /// What every part counts through, and `GET /api/metrics`' text; the executable adds the transport's gauges.
    public let metrics: PlugindMetrics

    public init(settings: PlugindSettings, logger: Logger) throws {
        self.settings = settings
        let metrics = PlugindMetrics(enabled: settings.metrics)
        self.metrics = metrics
        let timeouts = settings.timeouts
        let npm = settings.npm
        let agent = settings.agent
        try FileManager.default.createDirectory(atPath: settings.stateDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        database = try StateDB(path: settings.databasePath)
        operations = OperationRunner(
            store: OperationStore(db: database), maxConcurrent: settings.maxConcurrentOperations,
            deadline: .milliseconds(timeouts.operationMs), logger: logger, metrics: metrics.factory)
        let agentConfig = AgentConfigFile(path: settings.agentConfigPath, readerGroup: try settings.agentConfigGroupID())
        try agentConfig.applyReaderAccess()
        self.agentConfig = agentConfig
        let audit = AuditTrail(
            store: AuditStore(db: database), configFile: agentConfig,
            retention: .init(days: settings.auditRetentionDays, maxEntries: settings.auditMaxEntries),
            pause: CrashTestPause(environment: ProcessInfo.processInfo.environment, directory: settings.stateDir), logger: logger)
        agentConfig.keepJournal(audit)
        operations.addObserver(audit)
        self.audit = audit
        let scrubber = SecretScrubber(secrets: settings.secrets)
        // The time of day every service stamps and expires things by.
        let clock = SystemClock()
        let reasons = RestartReasonStore(db: database)
        let runtimeView: any RuntimeView
        var verdicts: any VerdictSource = NoVerdicts()
        if let endpoint = agent.runtimeBridge {
            let bridge = BridgeRuntime(client: RuntimeBridgeClient(endpoint: endpoint, callTimeoutMs: timeouts.bridgeMs, checkTimeoutMs: timeouts.checkMs))
            runtimeView = bridge
            scheduler = RestartScheduler(
                reasons: reasons, runtime: bridge, debounce: .milliseconds(agent.restartDebounceMs), automatic: agent.autoRestart, logger: logger,
                metrics: metrics.factory)
            // A verdict needs a restart: only when plugind restarts the agent by itself.
            // Without autoRestart the runtime's word is still read (the installed list), but nothing waits for it.
            verdicts = RestartVerdicts(reasons: reasons, runtime: bridge, waits: agent.autoRestart)
        } else {
            runtimeView = NoRuntime()
            scheduler = nil
        }
        let catalogue = CatalogueSource(path: agent.catalogue ?? Self.shippedCatalogue()) { warnings in
            for warning in warnings { logger.warning("catalogue: \(warning)") }
        }
        // Loaded at start, so a broken catalogue or its warnings show up in the log right away.
        do {
            _ = try catalogue.current()
        } catch {
            logger.error("\(error)")
        }
        let core = CorePolicy(core: agent.corePlugins, optional: agent.optionalCorePlugins)
        let pluginPaths = PluginPaths(stateDir: settings.stateDir, bundledPluginsDir: agent.bundledPluginsDir)
        let plugins = PluginService(
            catalogue: catalogue, paths: pluginPaths, core: core,
            dependencies: .init(
                configFile: agentConfig, runtime: runtimeView, restartReasons: reasons, retiredSecrets: RetiredSecretStore(),
                scrub: { scrubber.scrub($0) }, restartsByItself: agent.runtimeBridge != nil && agent.autoRestart))
        self.plugins = plugins
        let pluginRegistry = settings.pluginRegistry
        let coreVersion = AgentCore.version(setting: settings.compatibility.agentCoreVersion, bundledPluginsDir: agent.bundledPluginsDir)
        logger.info("agent core: \(coreVersion.map { "@elizaos/core \($0)" } ?? "unknown (compatibility is not checked)")")
        guard let channel = ChannelPolicy(pluginRegistry.channel) else {
            throw SettingsError("registryChannel must be auto or a channel name such as v1, not '\(pluginRegistry.channel)'.")
        }
        // Redirects lead only to the services the settings name (each client: its own, plus redirectOrigins).
        func client(for origins: [String]) -> HTTPClient {
            HTTPClient(configuration: .init(
                connectTimeout: .milliseconds(timeouts.connectMs), totalTimeout: .milliseconds(timeouts.fetchMs),
                idleTimeout: .milliseconds(timeouts.fetchMs), caFile: settings.caFile, redirectOrigins: Set(settings.redirectOrigins + origins)))
        }
        registry = RegistryService(
            configuration: RegistryConfiguration(
                urls: pluginRegistry.urls, ttl: Double(pluginRegistry.ttlSeconds), retryInterval: Double(pluginRegistry.retrySeconds), channel: channel,
                maxDocumentBytes: pluginRegistry.maxBytes, gitBaseURL: pluginRegistry.gitBaseURL, coreVersion: coreVersion),
            dependencies: .init(
                client: client(for: pluginRegistry.urls), database: database, clock: clock, logger: logger,
                bundled: (try? catalogue.current()).flatMap { BundledRegistry(catalogue: $0, origin: URL(fileURLWithPath: catalogue.path ?? "").absoluteString) },
                metrics: metrics.factory))
        // One npm registry client and one way of running npm, shared by installing and ejecting.
        var npmConfiguration = NpmRegistryConfiguration(
            base: npm.registry, token: npm.token, connectTimeoutMs: timeouts.connectMs, fetchTimeoutMs: timeouts.fetchMs,
            tarballTimeoutMs: timeouts.tarballMs, tarballIdleMs: timeouts.tarballIdleMs, caFile: settings.caFile, redirectOrigins: settings.redirectOrigins)
        for scope in npm.scopes { npmConfiguration.scopes[scope.scope] = .init(registry: scope.registry, token: scope.token) }
        let npmClient = NpmRegistryClient(npmConfiguration)
        let layout = InstallLayout(stateDir: settings.stateDir)
        let installerSettings = InstallerSettings(
            registry: npmConfiguration,
            policy: TreePolicy(
                maxPackages: npm.maxTreePackages, maxUnpackedBytes: npm.maxTreeUnpackedBytes, allowSha1: npm.allowSha1Integrity,
                requireSignatures: npm.requireSignatures),
            npmTimeoutMs: timeouts.npmMs)
        // npm, git and a repository's build run as the installer: through `plugind runner` when one is configured.
        let installer: any Installer = npm.installerSocket.map { RunnerClient(socket: $0, settings: installerSettings) }
            ?? LocalInstaller(
                settings: installerSettings, layout: layout, path: ProcessInfo.processInfo.environment["PATH"] ?? ChildProcess.defaultSearchPath,
                scrubber: scrubber)
        self.installer = installer
        let work = PluginWork(
            layout: layout, installer: installer, npm: npmClient, configFile: agentConfig, operations: operations, reasons: reasons, scrubber: scrubber,
            clock: clock)
        install = InstallService(
            work: work,
            dependencies: .init(
                history: InstallHistoryStore(db: database), listing: RegistryListingAdapter(registry: registry), core: core, catalogue: catalogue,
                logger: logger, versions: PluginVersionStore(db: database), verdicts: verdicts,
                policy: VersionPolicy(
                    verdictTimeoutMs: agent.verdictTimeoutMs, keptVersions: agent.keptVersions, npmCacheMaxBytes: Int64(agent.npmCacheMaxMiB) << 20),
                checks: InstallChecks(
                    coreVersion: coreVersion, blockSeverity: settings.compatibility.advisoryBlockSeverity, maxTreePackages: npm.maxTreePackages)),
            allowUnlisted: npm.allowUnlistedPackages)
        // Installed trees are checked for advisories again whenever the registry is refreshed, and once at start.
        let installForAdvisories = install
        registry.onRefresh { Thread.detachNewThread { installForAdvisories.recheckAdvisories() } }
        Thread.detachNewThread { installForAdvisories.recheckAdvisories() }
        let registryForEject = registry
        eject = EjectService(
            work: work, gitBaseUrl: pluginRegistry.gitBaseURL, gitTimeoutMs: timeouts.gitMs, buildTimeoutMs: timeouts.buildMs,
            bundledVersion: { pluginPaths.bundledVersion(of: $0) }, allowLocalRepositories: pluginRegistry.allowLocalRepositories,
            verdicts: VerdictWait(source: verdicts, timeoutMs: agent.verdictTimeoutMs, core: core)
        ) { name in
            // The plugin registry first; offline, or for a plugin it does not list, the catalogue's repository.
            let snapshot = try? registryForEject.snapshot()
            guard let snapshot, !snapshot.isBundled, let entry = snapshot.entry(named: name) else {
                if let url = (try? catalogue.current())?.repository(of: name) { return PluginSource(gitRepo: nil, branch: nil, directory: nil, url: url) }
                // Without an upstream copy, "no repository" would blame the package for the registry's silence.
                guard snapshot?.isBundled ?? true else { return nil }
                let reason = registryForEject.lastFailure?.summary ?? "no copy has been fetched yet"
                return PluginSource(gitRepo: nil, branch: nil, directory: nil, registryUnreachable: reason)
            }
            let branch = entry.channels.first { $0.name == entry.versionChannel }?.gitBranch ?? entry.channels.compactMap(\.gitBranch).first
            return PluginSource(gitRepo: entry.gitRepo, branch: branch, directory: entry.directory)
        }
        let runtimeForHeartbeat = runtimeView
        let agentRegistrySettings = settings.agentRegistry
        agentRegistry = AgentRegistryService(
            configuration: AgentRegistryConfiguration(
                registryURL: agentRegistrySettings.url, autoRegister: agentRegistrySettings.autoRegister,
                syncIntervalMs: agentRegistrySettings.syncIntervalMs, agentName: agentRegistrySettings.agentName,
                publicURI: agentRegistrySettings.publicURI),
            dependencies: .init(client: client(for: [agentRegistrySettings.url]), database: database, clock: clock, logger: logger, metrics: metrics.factory),
            content: {
                HeartbeatContent(
                    plugindVersion: PlugindVersion.current,
                    runtimeState: runtimeForHeartbeat.attached ? (runtimeForHeartbeat.snapshot()?.state ?? "unreachable") : "none",
                    plugins: plugins.heartbeatPlugins().map {
                        HeartbeatContent.Plugin(name: $0.name, version: $0.version, installed: $0.installed, enabled: $0.enabled, loaded: $0.loaded)
                    })
            })
        var exposition: (@Sendable () -> [UInt8])?
        if metrics.enabled { exposition = { @Sendable in metrics.exposition() ?? [] } }
        let deps = Dependencies(
            version: PlugindVersion.current, settings: settings, database: database,
            agentConfig: agentConfig, operations: operations, plugins: plugins,
            runtime: RuntimeService(runtime: runtimeView, scheduler: scheduler, reasons: reasons), registry: registry,
            install: install, eject: eject, agentRegistry: agentRegistry, metrics: exposition)
        manifest = ManifestService(deps)
        var gatekeeper = Gatekeeper(
            router: Router(RouteTable.routes(deps)), tokens: TokenVerification(store: TokenStore(path: settings.tokensPath)),
            publicOrigins: settings.publicOrigins, logger: logger,
            requestLog: LineRequestLog(label: logger.label, level: Logger.Level(rawValue: settings.logLevel) ?? .info),
            metrics: metrics.enabled ? RequestMetrics(factory: metrics.factory) : nil)
        gatekeeper.mutationRecorder = GateAudit(trail: audit, plugins: plugins)
        self.gatekeeper = gatekeeper
        if metrics.enabled {
            let registryGauges = RegistryCollector(registry: registry, factory: metrics.factory)
            let runtimeGauges = RuntimeCollector(runtime: runtimeView, factory: metrics.factory)
            let process = ProcessCollector(factory: metrics.factory)
            metrics.addCollector { registryGauges.collect() }
            metrics.addCollector { runtimeGauges.collect() }
            metrics.addCollector { process.collect() }
        }
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
    var unavailableReason: String { registry.lastFailure?.summary ?? "no copy has been fetched yet" }
    func latestVersion(_ npmName: String) -> String? { (try? registry.latest(of: npmName))??.version }
    func latestIsCompatible(_ npmName: String) -> Bool? { (try? registry.latest(of: npmName))??.compatible }
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

    func caller(forToken token: String) -> Caller? {
        guard let identity = store.identity(of: token) else { return nil }
        return Caller(role: identity.role == .admin ? .admin : .read, tokenId: identity.id, tokenLabel: identity.label)
    }
}
