import Adapters
import Foundation
import JSON
import Logging
import Operations
import Plugins
import Runner
import Stores
import Tarball

/// What the plugin registry says about packages, as installing needs it.
public protocol RegistryListing: Sendable {
    /// nil when there is no registry snapshot at all.
    func isListed(_ npmName: String) -> Bool?
    /// Why there is no snapshot (the upstream's failure), for the 503.
    var unavailableReason: String { get }
    /// The newest version of the channel in use, when the registry knows the package.
    func latestVersion(_ npmName: String) -> String?
    /// Whether that version fits the agent's `@elizaos/core`; nil when unknown.
    func latestIsCompatible(_ npmName: String) -> Bool?
}

extension RegistryListing {
    public func latestIsCompatible(_ npmName: String) -> Bool? { nil }
}

/// Installing and uninstalling npm packages as plugins (contract section 3): verified, inspected,
/// staged, swapped in, then committed to the agent config, each step recoverable after a crash.
public struct InstallService: Sendable {
    /// What installing works with beyond what it shares with ejecting (`PluginWork`): the install history, the plugin
    /// registry's listing, which plugins are core, the bundled catalogue, and the log.
    public struct Dependencies: Sendable {
        public var history: InstallHistoryStore
        public var listing: any RegistryListing
        public var core: CorePolicy
        public var catalogue: CatalogueSource
        public var logger: Logger
        /// The last verdict and the kept previous version of each package; the runtime's verdicts; their bounds.
        public var versions: PluginVersionStore
        public var verdicts: any VerdictSource
        public var policy: VersionPolicy
        /// What an install is checked against before downloading: the agent's core, advisories (`.none`: nothing).
        public var checks: InstallChecks

        public init(
            history: InstallHistoryStore, listing: any RegistryListing, core: CorePolicy, catalogue: CatalogueSource, logger: Logger,
            versions: PluginVersionStore, verdicts: any VerdictSource = NoVerdicts(), policy: VersionPolicy = VersionPolicy(),
            checks: InstallChecks = .none
        ) {
            self.versions = versions
            self.verdicts = verdicts
            self.policy = policy
            self.checks = checks
            self.history = history
            self.listing = listing
            self.core = core
            self.catalogue = catalogue
            self.logger = logger
        }
    }

    let work: PluginWork
    let history: InstallHistoryStore
    let listing: any RegistryListing
    let core: CorePolicy
    let catalogue: CatalogueSource
    let allowUnlisted: Bool
    let checks: InstallChecks
    let advisories = AdvisoryBoard()
    let logger: Logger
    /// The runtime's verdicts after a change, the last verdict and the kept previous version of each package.
    let verdicts: any VerdictSource
    let versions: PluginVersionStore
    let policy: VersionPolicy

    var layout: InstallLayout { work.layout }
    var registry: NpmRegistryClient { work.npm }
    var installer: any Installer { work.installer }
    var configFile: AgentConfigFile { work.configFile }
    var operations: OperationRunner { work.operations }
    var reasons: RestartReasonStore { work.reasons }
    var scrubber: SecretScrubber { work.scrubber }

    /// `allowUnlisted`: whether packages the plugin registry does not list may be installed.
    public init(work: PluginWork, dependencies: Dependencies, allowUnlisted: Bool) {
        self.verdicts = dependencies.verdicts
        self.versions = dependencies.versions
        self.policy = dependencies.policy
        self.checks = dependencies.checks
        self.work = work
        self.history = dependencies.history
        self.listing = dependencies.listing
        self.core = dependencies.core
        self.catalogue = dependencies.catalogue
        self.allowUnlisted = allowUnlisted
        self.logger = dependencies.logger
    }

    // MARK: POST /api/plugins/install

    /// `force`: install a version that does not fit the agent's core, or has blocking advisories (recorded as `forced`).
    /// `awaitVerdict` false (Milady's `autoRestart: false`): the change is done and left for the next restart; nobody
    /// waits for the runtime's verdict (`loaded` stays null, so nothing is rolled back for not loading).
    public func install(
        name: String, version: String?, enable: Bool, force: Bool = false, rollbackOnFailure: Bool = true, awaitVerdict: Bool = true,
        operationId: String?, requestId: String?
    ) throws -> InstallResult {
        try checkNameAndListing(name)
        let wanted = try VersionChoice.parse(version)
        let installPath = try layout.installPath(for: name)
        try layout.prepare(installer)
        defer { tidyInBackground() }
        return try operations.perform(kind: "install", target: name, operationId: operationId, requestId: requestId) { ctx in
            if force { ctx.log("forced: the request said force, so compatibility and advisories warn instead of refusing") }
            var (done, change) = try runInstall(
                name: name, wanted: wanted, enable: enable, force: force, rollbackOnFailure: rollbackOnFailure, installPath: installPath, ctx: ctx)
            if awaitVerdict {
                try judge(&done, change: change, ctx: ctx)
            } else if change != nil {
                ctx.log("the request said autoRestart false: not waiting for the agent's restart")
            }
            return done
        }
    }

    private func runInstall(
        name: String, wanted: VersionChoice, enable: Bool, force: Bool, rollbackOnFailure: Bool, installPath: String, ctx: OperationContext
    ) throws -> (InstallResult, Change?) {
        ctx.phase("resolving", progress: 0.02)
        let packument = try InstallError.fromRegistry { () throws(NpmRegistryError) in try registry.packument(name, timeoutMs: ctx.stepTimeoutMs(.max)) }
        let choice = try choose(wanted, from: packument, force: force)
        let picked = choice.version
        var warnings = choice.warnings
        ctx.log("resolved \(name)@\(wanted.text) to \(picked)")
        for warning in warnings { ctx.log("warning: " + warning) }
        try ctx.checkDeadline("resolving")
        func result(_ requiresRestart: Bool) -> InstallResult {
            InstallResult(requiresRestart: requiresRestart, plugin: .init(name: name, version: picked, installPath: installPath), forced: force, warnings: warnings)
        }

        // The same version already in place: nothing to download.
        let current = try configFile.read()
        if let record = AgentConfigEdits.installRecord(name, in: current), record["version"]?.stringValue == picked,
            FileManager.default.fileExists(atPath: PluginPaths.packageDirectory(installPath: installPath, npmName: name) + "/package.json")
        {
            let changedAt = ISOTime.string()
            let changed = enable ? try enableIfNeeded(name) : false
            ctx.log("\(name)@\(picked) is already installed")
            return (result(changed), changed ? Change(version: picked, changedAt: changedAt, previousVersion: nil, previousLoaded: nil, rollbackOnFailure: false) : nil)
        }
        // An upgrade: whether the version it replaces loaded, known from the runtime's last verdict on it.
        let previous = AgentConfigEdits.installRecord(name, in: current)
        let previousVersion = previous?["version"]?.stringValue
        let previousLoaded = previousVersion.flatMap { knownLoaded(name, version: $0) }
        try checkDirectoryClash(name: name, installPath: installPath, document: current)
        let soundness = try checkSoundness(name: name, version: picked, packument: packument, force: force, ctx: ctx)
        for warning in soundness.warnings { ctx.log("warning: " + warning) }
        warnings += soundness.warnings
        try ctx.checkDeadline("checking")

        let downloads = layout.downloadRoot + "/\(ctx.id)"
        let staging = layout.stagingRoot + "/\(ctx.id)"
        defer {
            try? installer.remove(downloads)
            try? installer.remove(staging)
        }
        // The staging project has one dependency, the plugin at the picked version; the walk starts there, and the
        // installed tree is checked against it (so node_modules/<name> is name@picked). The walk must come to the
        // tree just checked: a dependency published since is refused, never installed unchecked.
        _ = try installer.installTree(
            TreeRequest(
                project: [.init(name: name, spec: picked, kind: .regular, optionalPeer: false)], scratch: downloads, prefix: staging,
                pinned: soundness.checked),
            known: [name: packument], progress: ctx)
        try ctx.checkDeadline("installing")

        ctx.phase("activating", progress: 0.9)
        let change = Change(
            version: picked, changedAt: "", previousVersion: previousVersion, previousLoaded: previousLoaded, rollbackOnFailure: rollbackOnFailure,
            forced: force)
        let (requiresRestart, changedAt) = try commit(
            name: name, version: picked, spec: "\(name)@\(wanted.text)", integrity: packument.versions[picked]?.dist.integrity ?? packument.versions[picked]?.dist.shasum,
            staging: staging, installPath: installPath, enable: enable, previous: previous, change: change, ctx: ctx)
        if let found = soundness.advisories { advisories.set(name, version: picked, advisories: found) }
        return (result(requiresRestart), Change(
            version: picked, changedAt: changedAt, previousVersion: previousVersion, previousLoaded: previousLoaded, rollbackOnFailure: rollbackOnFailure))
    }

    /// Another package already owns the directory this one maps to.
    func checkDirectoryClash(name: String, installPath: String, document: JSONObject) throws {
        for record in document["plugins"]?["installs"]?.objectValue ?? JSONObject() where record.key != name {
            if record.value["installPath"]?.stringValue == installPath || (try? layout.installPath(for: record.key)) == installPath {
                throw InstallError.conflict("\(record.key) is already installed in \(installPath), the directory \(name) would use.")
            }
        }
    }

    /// The commit point, in the contract's order: swap the staged tree in (the old one kept aside),
    /// write the agent config, then the database. A failure before the config write puts the old tree back.
    private func commit(
        name: String, version: String, spec: String, integrity: String?, staging: String, installPath: String, enable: Bool,
        previous: JSONValue?, change: Change, ctx: OperationContext
    ) throws -> (Bool, String) {
        let aside = layout.asideRoot + "/\(ctx.id)"
        let hadPrevious = FileManager.default.fileExists(atPath: installPath)
        var checkpoint = InstallCheckpoint(
            step: .swapping, installPath: installPath, aside: aside, staging: staging, version: version, hadPrevious: hadPrevious, integrity: integrity)
        checkpoint.forced = change.forced ? true : nil
        ctx.checkpoint(checkpoint)
        if hadPrevious { try move(installPath, to: aside) }
        do {
            try move(staging, to: installPath)
        } catch {
            if hadPrevious { try? move(aside, to: installPath) }
            throw error
        }
        checkpoint.step = .swapped
        checkpoint.staging = nil
        ctx.checkpoint(checkpoint)
        let requiresRestart: Bool
        do {
            requiresRestart = try configFile.update { document -> Bool in
                let record = InstallRecord(spec: spec, installPath: installPath, version: version, installedAt: ISOTime.string(from: work.clock.now))
                AgentConfigEdits.setInstallRecord(name, try JSONEncoding.value(record), in: &document)
                let optional = core.isOptionalCore(name)
                if enable && !core.isCore(name) && !AgentConfigEdits.isEnabled(name, optionalCore: optional, in: document) {
                    AgentConfigEdits.setEnabled(name, true, optionalCore: optional, in: &document)
                }
                return true
            }
        } catch {
            // Before the commit point: the previous version goes back.
            try? installer.remove(installPath)
            if hadPrevious { try? move(aside, to: installPath) }
            throw error
        }
        checkpoint.step = .committed
        checkpoint.hadPrevious = nil
        checkpoint.previousVersion = change.previousVersion
        checkpoint.rollbackOnFailure = change.rollbackOnFailure && change.previousLoaded == true
        ctx.checkpoint(checkpoint)
        // The restart reason first: whatever a crash cuts short from here, recovery finishes.
        try reasons.add("\(name)@\(version) was installed")
        let changedAt = ISOTime.string()
        checkpoint.changedAt = changedAt
        ctx.checkpoint(checkpoint)
        try? history.record(name: name, version: version, integrity: integrity, operationId: ctx.id)
        // The tree replaced is kept, one generation, for a rollback; without an install record it is not a version.
        if hadPrevious, let previous, let previousVersion = previous["version"]?.stringValue {
            keep(PluginVersionStore.Kept(
                name: name, version: previousVersion, spec: previous["spec"]?.stringValue ?? "\(name)@\(previousVersion)", installPath: installPath,
                installedAt: previous["installedAt"]?.stringValue, integrity: try? history.integrity(name: name, version: previousVersion)),
                from: aside)
        } else {
            try? installer.remove(aside)
        }
        ctx.log("installed \(name)@\(version)")
        return (requiresRestart, changedAt)
    }

    private func enableIfNeeded(_ name: String) throws -> Bool {
        guard !core.isCore(name) else { return false }
        let optional = core.isOptionalCore(name)
        let changed = try configFile.update { document -> Bool in
            guard !AgentConfigEdits.isEnabled(name, optionalCore: optional, in: document) else { return false }
            AgentConfigEdits.setEnabled(name, true, optionalCore: optional, in: &document)
            return true
        }
        if changed { try reasons.add("\(name) was enabled") }
        return changed
    }

    func move(_ from: String, to: String) throws {
        try installer.move(from, to: to)
    }
}
