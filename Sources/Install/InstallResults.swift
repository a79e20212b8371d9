import Adapters
import JSON
import Runner

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
    /// What the user should know about what was installed (always present): a newer version skipped because it
    /// does not fit the agent's core, deprecated packages, security advisories, a forced install.
    public let warnings: [String]
}

public struct UninstallResult: Encodable, Sendable {
    public let ok = true
    public let requiresRestart: Bool
}

/// GET /api/plugins/installed: one row per package, by name.
public struct InstalledList: Encodable, Sendable {
    public let plugins: [InstalledPlugin]
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
    }

    var step: Step
    var installPath: String
    var aside: String
    var staging: String?
    var version: String?
    var hadPrevious: Bool?
    var integrity: String?
    var wasEnabled: Bool?

    enum CodingKeys: String, CodingKey { case step, installPath, aside, staging, version, hadPrevious, integrity, wasEnabled }

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
    }
}
