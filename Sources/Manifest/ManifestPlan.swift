import Adapters
import Install
import JSON
import Plugins
import SemVer

/// The agent's plugin set as it is now, as plain values (what an export writes and a plan compares against).
public struct AgentState: Sendable {
    public struct Installed: Sendable, Equatable {
        public var version: String
        public var tree: [PinnedPackage]?
        public init(version: String, tree: [PinnedPackage]?) {
            self.version = version
            self.tree = tree
        }
    }

    public struct EjectedCopy: Sendable, Equatable {
        public var gitUrl: String?
        public var branch: String?
        public var commit: String?
        public var localCommits: Int
        public var localChanges: Bool
        public init(gitUrl: String?, branch: String?, commit: String?, localCommits: Int, localChanges: Bool) {
            self.gitUrl = gitUrl
            self.branch = branch
            self.commit = commit
            self.localCommits = localCommits
            self.localChanges = localChanges
        }
    }

    /// Installed packages by npm name.
    public var packages: [String: Installed] = [:]
    public var ejected: [String: EjectedCopy] = [:]
    /// Every known non-core plugin's enabled flag, by npm name.
    public var enabled: [String: Bool] = [:]
    /// Core plugins (always enabled; never in a manifest).
    public var core: Set<String> = []
    /// Stored values of the keys plugins declare.
    public var values: [String: String] = [:]
    /// Keys declared or named sensitive.
    public var sensitive: Set<String> = []

    public init() {}

    /// A value is secret when its key is sensitive or when it carries credentials (`postgres://user:pass@…`).
    public func isSecret(_ key: String, value: String?) -> Bool {
        isSensitive(key) || value.map(Self.carriesCredentials) ?? false
    }

    /// Declared sensitive by a plugin here, or named like a secret (`…_KEY`, `…TOKEN`, …).
    public func isSensitive(_ key: String) -> Bool { sensitive.contains(key) || ParameterRules.looksSensitive(key) }

    /// Keys no setting may write: those that change how the agent process runs, or that the host injects.
    public static func isWritable(_ key: String) -> Bool { PluginService.isWritableSetting(key) }

    /// Credentials in a URL's user part, or a `password=…`-style pair: what the scrubber would mask.
    public static func carriesCredentials(_ value: String) -> Bool { SecretScrubber().scrub(value) != value }
}

extension Manifest {
    /// What this agent's state exports: every installed package with its tree, every ejected copy with its upstream,
    /// the enabled flags of the non-core plugins that are enabled, installed or ejected, the non-secret values and
    /// the names of the secret ones that are set.
    public init(exporting state: AgentState) {
        self.init()
        for (name, package) in state.packages { packages[name] = Package(version: package.version, tree: package.tree) }
        for (name, copy) in state.ejected {
            // A repository URL with credentials in it keeps its place, not its credentials.
            ejected[name] = Ejected(gitUrl: copy.gitUrl.map { SecretScrubber().scrub($0) }, branch: copy.branch, commit: copy.commit)
        }
        for (name, enabled) in state.enabled where !state.core.contains(name) {
            if enabled || state.packages[name] != nil || state.ejected[name] != nil { plugins[name] = enabled }
        }
        for (key, value) in state.values {
            if state.isSecret(key, value: value) { secrets.insert(key) } else { settings[key] = value }
        }
    }
}

/// One change applying a manifest makes.
public struct ManifestChange: Sendable, Encodable, Equatable {
    public enum Action: String, Sendable, Encodable {
        case install, upgrade, downgrade, reinstall, uninstall, set, unset, enable, disable
    }

    public let action: Action
    /// The plugin (packages and enablement) or the setting (set, unset) it is about.
    public let plugin: String?
    public let key: String?
    /// Versions for packages; values for settings, null for secrets (their values are never shown).
    public let from: String?
    public let to: String?
    /// set/unset: the setting is a secret.
    public let secret: Bool?

    public init(action: Action, plugin: String?, key: String?, from: String?, to: String?, secret: Bool?) {
        self.action = action
        self.plugin = plugin
        self.key = key
        self.from = from
        self.to = to
        self.secret = secret
    }

    static func package(_ action: Action, _ name: String, from: String?, to: String?) -> ManifestChange {
        ManifestChange(action: action, plugin: name, key: nil, from: from, to: to, secret: nil)
    }

    static func setting(_ action: Action, _ key: String, from: String?, to: String?, secret: Bool) -> ManifestChange {
        ManifestChange(action: action, plugin: nil, key: key, from: from, to: to, secret: secret)
    }

    static func enablement(_ name: String, _ enabled: Bool) -> ManifestChange {
        ManifestChange(action: enabled ? .enable : .disable, plugin: name, key: nil, from: nil, to: nil, secret: nil)
    }

    public var isPackage: Bool { [.install, .upgrade, .downgrade, .reinstall, .uninstall].contains(action) }

}

/// What applying a manifest would do, in the order it would do it: packages, then settings, then enablement.
public struct ManifestPlan: Sendable, Encodable {
    public var ok = true
    public var changes: [ManifestChange] = []
    /// Secrets the manifest says are set that this agent lacks (a warning each: set them by hand).
    public var missingSecrets: [String] = []
    /// Ejected copies with local work the apply would overwrite; it refuses until they are skipped.
    public var blocked: [Blocked] = []
    public var warnings: [String] = []
    public var requiresRestart: Bool { !changes.isEmpty }

    enum CodingKeys: String, CodingKey { case ok, changes, missingSecrets, blocked, warnings, requiresRestart }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ok, forKey: .ok)
        try container.encode(changes, forKey: .changes)
        try container.encode(missingSecrets, forKey: .missingSecrets)
        try container.encode(blocked, forKey: .blocked)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(requiresRestart, forKey: .requiresRestart)
    }

    /// Compares `manifest` with `state`. `skip`: plugins to leave as they are (an ejected copy with local work).
    /// Throws `invalidValues` (422) when the manifest gives a value for a secret or a key no setting may have.
    public static func compute(_ manifest: Manifest, against state: AgentState, skip: Set<String> = []) throws(ManifestError) -> ManifestPlan {
        var plan = ManifestPlan()
        try validateValues(manifest, state: state)

        // Ejected copies: never created, moved or overwritten by an apply.
        for name in Set(manifest.ejected.keys).union(state.ejected.keys).sorted() where !skip.contains(name) {
            let wanted = manifest.ejected[name]
            guard let here = state.ejected[name] else {
                let at = wanted?.commit.map { " at \($0.prefix(12))" } ?? ""
                plan.warnings.append("\(name) is ejected in the manifest\(at); an apply does not eject: eject it here with POST /api/plugins/\(name)/eject.")
                continue
            }
            guard wanted == nil || wanted?.commit != here.commit else { continue }
            let there = wanted.map { "at \(($0.commit ?? "an unknown commit").prefix(12))" } ?? "not ejected"
            if here.localCommits > 0 || here.localChanges {
                let work = here.localCommits > 0 ? "\(here.localCommits) local commit\(here.localCommits == 1 ? "" : "s")" : "uncommitted edits"
                plan.blocked.append(Blocked(
                    plugin: name, reason: "its ejected copy here has \(work); the manifest has it \(there). Apply with skip=\(name) to leave it as it is."))
            } else {
                plan.warnings.append("\(name)'s ejected copy here is at \((here.commit ?? "an unknown commit").prefix(12)); the manifest has it \(there). An apply leaves ejected copies alone: sync or reinject it by hand.")
            }
        }
        let left = Set(plan.blocked.map(\.plugin)).union(skip)

        // Packages, by name.
        for name in Set(manifest.packages.keys).union(state.packages.keys).sorted() where !left.contains(name) {
            let wanted = manifest.packages[name]
            let have = state.packages[name]
            switch (wanted, have) {
            case (let wanted?, nil):
                plan.changes.append(.package(.install, name, from: nil, to: wanted.version))
            case (let wanted?, let have?):
                let newer = Version(wanted.version).flatMap { w in Version(have.version, loose: true).map { w > $0 ? 1 : w < $0 ? -1 : 0 } }
                if newer == 1 {
                    plan.changes.append(.package(.upgrade, name, from: have.version, to: wanted.version))
                } else if newer == -1 || (newer == nil && wanted.version != have.version) {
                    plan.changes.append(.package(.downgrade, name, from: have.version, to: wanted.version))
                } else if let a = wanted.tree, let b = have.tree, Set(a) != Set(b) {
                    plan.changes.append(.package(.reinstall, name, from: have.version, to: wanted.version))
                }
            case (nil, let have?):
                if state.ejected[name] != nil {
                    plan.warnings.append("\(name) is not in the manifest, but it has an ejected copy here; reinject it first, then apply again to uninstall it.")
                } else {
                    plan.changes.append(.package(.uninstall, name, from: have.version, to: nil))
                }
            case (nil, nil):
                break
            }
            if let wanted, wanted.tree == nil {
                plan.warnings.append("The manifest does not pin the tree of \(name)@\(wanted.version): its dependencies are resolved as the registry serves them now.")
            }
        }

        // Settings, by key.
        for key in Set(manifest.settings.keys).union(state.values.keys).sorted() {
            let current = state.values[key]
            if let value = manifest.settings[key] {
                guard value != current else { continue }
                let secretNow = state.isSecret(key, value: current)
                plan.changes.append(.setting(.set, key, from: secretNow ? nil : current, to: value, secret: false))
            } else if let current, !manifest.secrets.contains(key) {
                let secret = state.isSecret(key, value: current)
                plan.changes.append(.setting(.unset, key, from: secret ? nil : current, to: nil, secret: secret))
            }
        }
        for key in manifest.secrets.sorted() where state.values[key] == nil {
            plan.missingSecrets.append(key)
            plan.warnings.append("\(key) is set where the manifest comes from, not here: set it on this agent (PUT /api/plugins/:id).")
        }

        // Enablement, by plugin.
        for name in Set(manifest.plugins.keys).union(state.enabled.keys).sorted() where !left.contains(name) {
            let wanted = manifest.plugins[name] ?? false
            if state.core.contains(name) {
                if !wanted && manifest.plugins[name] != nil { plan.warnings.append("\(name) is a core plugin: it is always enabled.") }
                continue
            }
            if wanted != (state.enabled[name] ?? false) { plan.changes.append(.enablement(name, wanted)) }
        }
        return plan
    }

    /// A manifest carries no secret values: not for a sensitive key, not in a credentialed URL; nor values for keys
    /// that change how the agent process runs.
    static func validateValues(_ manifest: Manifest, state: AgentState) throws(ManifestError) {
        var issues: [ManifestError.Issue] = []
        for key in manifest.settings.keys.sorted() {
            let value = manifest.settings[key]!
            if !AgentState.isWritable(key) {
                issues.append(.init(field: "settings.\(key)", message: "is blocked: it changes how the agent process itself runs"))
            } else if state.isSensitive(key) {
                issues.append(.init(field: "settings.\(key)", message: "is sensitive: a manifest names it in secrets, never its value"))
            } else if AgentState.carriesCredentials(value) {
                issues.append(.init(field: "settings.\(key)", message: "carries credentials: a manifest names it in secrets, never its value"))
            }
        }
        if !issues.isEmpty { throw .invalidValues(issues) }
    }
}
