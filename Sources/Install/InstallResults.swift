import Adapters
import JSON
import Runner
import Stores

/// What an install answers (and records as its operation's result).
public struct InstallResult: Encodable, Sendable {
    public struct Plugin: Encodable, Sendable {
        public let name: String
        public let version: String
        public let installPath: String
    }

    public let ok = true
    public let requiresRestart: Bool
    public let plugin: Plugin
    /// The request said `force`: compatibility and blocking advisories were warnings, not refusals.
    public let forced: Bool
    /// The runtime's verdict after the change's restart; nil when nobody waited (no runtime, `autoRestart` off).
    public var loaded: Bool?
    /// Why it did not load, when `loaded` is false.
    public var loadError: String?
    /// What the user should know about what was installed (always present): a newer version skipped because it
    /// does not fit the agent's core, deprecated packages, security advisories, a forced install, a plugin that
    /// did not load but was kept.
    public var warnings: [String]
    /// Milady's: one sentence on what happened, for a notice.
    public let message: String

    public init(
        requiresRestart: Bool, plugin: Plugin, forced: Bool = false, loaded: Bool? = nil, loadError: String? = nil, warnings: [String] = []
    ) {
        self.message = requiresRestart
            ? "\(plugin.name) \(plugin.version) was installed; it loads when the agent restarts."
            : "\(plugin.name) \(plugin.version) is installed."
        self.requiresRestart = requiresRestart
        self.plugin = plugin
        self.forced = forced
        self.loaded = loaded
        self.loadError = loadError
        self.warnings = warnings
    }
}

/// POST /api/plugins/:id/rollback: the version put back, and the runtime's verdict on it.
public struct RollbackResult: Encodable, Sendable {
    public let ok = true
    public let requiresRestart: Bool
    public let plugin: InstallResult.Plugin
    /// The version that was replaced (now the kept one).
    public let replacedVersion: String?
    public var loaded: Bool?
    public var loadError: String?
    public var warnings: [String]
}

/// What a failed install records as its operation's result: the verdict that failed it, and the version put back.
struct FailedInstallResult: Encodable {
    let ok = false
    let plugin: InstallResult.Plugin
    let loaded: Bool?
    let loadError: String?
    let rolledBackTo: String?
    let warnings: [String]
}

public struct UninstallResult: Encodable, Sendable {
    public let ok = true
    public let requiresRestart: Bool
    /// Milady's: the package uninstalled, and one sentence on what happened.
    public let pluginName: String
    public let message: String

    init(requiresRestart: Bool, pluginName: String) {
        self.requiresRestart = requiresRestart
        self.pluginName = pluginName
        self.message = requiresRestart
            ? "\(pluginName) was uninstalled; it is unloaded when the agent restarts." : "\(pluginName) was uninstalled."
    }
}

/// GET /api/plugins/installed: one row per package, by name.
public struct InstalledList: Encodable, Sendable {
    /// Milady's: how many rows.
    public let count: Int
    public let plugins: [InstalledPlugin]

    init(plugins: [InstalledPlugin]) {
        self.count = plugins.count
        self.plugins = plugins
    }
}

public struct InstalledPlugin: Encodable, Sendable {
    public let name: String
    public let version: String?
    public let installedAt: String?
    public let installPath: String
    public let integrity: String?
    public let source: String
    public let latestVersion: String?
    /// nil when either version is unknown or the registry's is not exact.
    public let updateAvailable: Bool?
    /// The package's directory is gone.
    public let missing: Bool
    /// The runtime's last verdict on the installed version; nil when unknown.
    public let loaded: Bool?
    public let loadError: String?
    /// The previous version kept for a rollback; nil when none is kept.
    public let previousVersion: String?
    /// Security advisories for the installed tree (checked at install and on every registry refresh); null when
    /// this version has not been checked since plugind started.
    public let advisories: [Advisory]?
}

/// An entry of the agent config's `plugins.installs`, as Milady writes it.
struct InstallRecord: Encodable {
    let source = "npm"
    let spec: String
    let installPath: String
    let version: String
    let installedAt: String
}

/// How far an install or uninstall got, for recovery after a crash. Stored flat, `step` first, as earlier
/// versions of plugind wrote it, so an operation a crash interrupted before an upgrade is still settled.
struct InstallCheckpoint: Codable {
    enum Step: String, Codable {
        /// install: the staged tree is being moved in (the old one aside).
        case swapping
        /// install: the new tree is in place; the agent config not yet written.
        case swapped
        /// uninstall: the tree is being moved aside.
        case moving
        /// uninstall: the tree is aside; the agent config not yet written.
        case moved
        /// The agent config says so: the change stands.
        case committed
        /// rollback: the current tree is being moved aside and the kept one into place (finished after a crash).
        case restoring
        /// rollback: the agent config names the kept version again.
        case restored
    }

    var step: Step
    var installPath: String
    var aside: String
    var staging: String?
    var version: String?
    var hadPrevious: Bool?
    var integrity: String?
    var wasEnabled: Bool?
    /// install: the version this one replaced, and whether to put it back should the new one not load.
    var previousVersion: String?
    var rollbackOnFailure: Bool?
    /// install: the request said `force`.
    var forced: Bool?
    /// install: when the change's restart reasons were in (the verdict waits for the restart that carries them).
    var changedAt: String?
    /// rollback: what goes back, where its tree is kept, and what it replaces (kept in turn, or dropped when nil).
    var restoring: PluginVersionStore.Kept?
    var kept: String?
    var replaced: PluginVersionStore.Kept?
    /// rollback inside an install: the verdict that made it.
    var loadError: String?

    init(
        step: Step, installPath: String, aside: String, staging: String? = nil, version: String? = nil, hadPrevious: Bool? = nil,
        integrity: String? = nil, wasEnabled: Bool? = nil
    ) {
        self.step = step
        self.installPath = installPath
        self.aside = aside
        self.staging = staging
        self.version = version
        self.hadPrevious = hadPrevious
        self.integrity = integrity
        self.wasEnabled = wasEnabled
    }

    enum CodingKeys: String, CodingKey {
        case step, installPath, aside, staging, version, hadPrevious, integrity, wasEnabled, previousVersion, rollbackOnFailure, changedAt
        case forced, restoring, kept, replaced, loadError
    }

    /// Only the members a step has are written.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(step, forKey: .step)
        try container.encode(installPath, forKey: .installPath)
        try container.encode(aside, forKey: .aside)
        if let staging { try container.encode(staging, forKey: .staging) }
        if let version { try container.encode(version, forKey: .version) }
        if let hadPrevious { try container.encode(hadPrevious, forKey: .hadPrevious) }
        if let integrity { try container.encode(integrity, forKey: .integrity) }
        if let wasEnabled { try container.encode(wasEnabled, forKey: .wasEnabled) }
        if let previousVersion { try container.encode(previousVersion, forKey: .previousVersion) }
        if let rollbackOnFailure { try container.encode(rollbackOnFailure, forKey: .rollbackOnFailure) }
        if let changedAt { try container.encode(changedAt, forKey: .changedAt) }
        if let forced { try container.encode(forced, forKey: .forced) }
        if let restoring { try container.encode(restoring, forKey: .restoring) }
        if let kept { try container.encode(kept, forKey: .kept) }
        if let replaced { try container.encode(replaced, forKey: .replaced) }
        if let loadError { try container.encode(loadError, forKey: .loadError) }
    }
}
