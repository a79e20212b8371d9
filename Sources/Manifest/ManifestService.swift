import Eject
import Foundation
import Install
import JSON
import Operations
import Plugins
import Runner
import Stores

/// Export, plan and apply of the agent's plugin set (docs/fleet.md). An apply is one operation and all or nothing:
/// every package is staged first (verified exactly as POST /api/plugins/install verifies it); then the trees are
/// swapped in with the old ones set aside; then ONE agent-config write — install records, settings and enablement
/// together — is the commit point. A failure or a crash before it puts every tree back; after it, the apply is done.
public struct ManifestService: Sendable {
    let plugins: PluginService
    let install: InstallService
    let eject: EjectService
    let operations: OperationRunner
    let configFile: AgentConfigFile
    let reasons: RestartReasonStore
    let verdicts: VerdictWait

    /// The operation kind (and target) of an apply: one at a time.
    public static let operationKind = "manifest-apply"
    public static let operationTarget = "manifest"

    public init(
        plugins: PluginService, install: InstallService, eject: EjectService, operations: OperationRunner, configFile: AgentConfigFile,
        reasons: RestartReasonStore, verdicts: VerdictWait
    ) {
        self.plugins = plugins
        self.install = install
        self.eject = eject
        self.operations = operations
        self.configFile = configFile
        self.reasons = reasons
        self.verdicts = verdicts
    }

    // MARK: GET /api/manifest

    /// The agent's state now, as plain values.
    public func state() throws -> AgentState {
        let config = try configFile.read()
        let view = try plugins.settingsView(config: config)
        var state = AgentState()
        for row in try install.installed().plugins where !row.missing {
            guard let version = row.version else { continue }
            state.packages[row.name] = .init(version: version, tree: InstallService.lockedTree(installPath: row.installPath))
        }
        for copy in eject.ejected().plugins {
            state.ejected[copy.name] = .init(
                gitUrl: copy.upstream.gitUrl, branch: copy.upstream.branch, commit: copy.upstream.commit, localCommits: copy.localCommits,
                localChanges: copy.localChanges)
        }
        for (name, plugin) in view.plugins {
            if plugin.core { state.core.insert(name) } else { state.enabled[name] = plugin.enabled }
        }
        state.values = view.values
        state.sensitive = view.sensitive
        return state
    }

    public func export() throws -> Manifest { Manifest(exporting: try state()) }

    // MARK: POST /api/manifest/plan

    public func plan(_ manifest: Manifest, skip: Set<String> = []) throws -> ManifestPlan {
        try ManifestPlan.compute(manifest, against: try state(), skip: skip)
    }

    // MARK: POST /api/manifest/apply

    /// Applies `manifest` as one operation. Refused before anything starts: a malformed manifest (400), secret values
    /// (422), ejected copies with local work that are not skipped (409), an apply or a change of one of its packages
    /// already running (409).
    public func apply(_ manifest: Manifest, skip: Set<String>, operationId: String?, requestId: String?) throws -> ManifestApplyResult {
        let first = try plan(manifest, skip: skip)
        if !first.blocked.isEmpty { throw ManifestError.blocked(first.blocked) }
        for change in first.changes where change.isPackage { try operations.ensureIdle(change.plugin!) }
        try install.installLayout.prepare(install.treeInstaller)
        return try operations.perform(
            kind: Self.operationKind, target: Self.operationTarget, operationId: operationId, requestId: requestId
        ) { ctx in
            ctx.phase("checking", progress: 0.01)
            // Judged again now that no other apply can run: what changed since is taken into account.
            let plan = try self.plan(manifest, skip: skip)
            if !plan.blocked.isEmpty { throw ManifestError.blocked(plan.blocked) }
            return try run(plan, manifest: manifest, skip: skip, ctx: ctx)
        }
    }

    private func run(_ plan: ManifestPlan, manifest: Manifest, skip: Set<String>, ctx: OperationContext) throws -> ManifestApplyResult {
        var warnings = plan.warnings
        for line in plan.changes.map(Self.describe) { ctx.log("plan: " + line) }
        guard !plan.changes.isEmpty else {
            ctx.log("nothing to change: this agent already has the manifest's plugin set")
            return ManifestApplyResult(plan: plan, skipped: skip.sorted(), warnings: warnings, verdicts: [])
        }
        let layout = install.installLayout
        let installer = install.treeInstaller
        let packageChanges = plan.changes.filter(\.isPackage)
        // The packages the apply replaces that the runtime has loaded now: if one of them does not load after the
        // apply, the whole apply is put back (a plugin new to this agent that does not load is a warning only).
        let replaced = packageChanges.filter { $0.from != nil && $0.to != nil }.map { $0.plugin! }
        let loadedBefore = verdicts.source.waits && !replaced.isEmpty
            ? Set(verdicts.source.current(packages: replaced).filter(\.value.loaded).keys) : []

        // 1. Stage every package (nothing in place changes).
        var entries: [ApplyCheckpoint.Entry] = []
        var checkpoint = ApplyCheckpoint(step: .staging, entries: [], writes: .init(plan))
        ctx.checkpoint(checkpoint)
        let installs = packageChanges.filter { $0.action != .uninstall }
        for (index, change) in packageChanges.enumerated() {
            let name = change.plugin!
            let slot = "\(ctx.id)-\(index)"
            let installPath = try layout.installPath(for: name)
            var entry = ApplyCheckpoint.Entry(
                name: name, installPath: installPath, aside: layout.asideRoot + "/" + slot, staging: nil,
                hadPrevious: FileManager.default.fileExists(atPath: installPath), version: change.to, integrity: nil)
            if let version = change.to {
                let position = Double(installs.firstIndex(of: change) ?? 0)
                ctx.phase("installing", progress: 0.05 + 0.65 * position / Double(max(1, installs.count)))
                ctx.log("\(change.action.rawValue) \(name)@\(version)")
                let staging = layout.stagingRoot + "/" + slot
                let downloads = layout.downloadRoot + "/" + slot
                defer { try? installer.remove(downloads) }
                do {
                    let staged = try install.stage(
                        name: name, version: version, tree: manifest.packages[name]?.tree, staging: staging, downloads: downloads, ctx: ctx)
                    warnings += staged.warnings
                    entry.staging = staging
                    entry.integrity = staged.integrity
                } catch {
                    try? installer.remove(staging)
                    for staged in entries { if let path = staged.staging { try? installer.remove(path) } }
                    throw ManifestError.failed(step: "\(change.action.rawValue) \(name)@\(version)", error)
                }
            }
            entries.append(entry)
        }

        // 2. Swap: old trees aside, staged ones in. Recorded first, so recovery knows every path involved.
        ctx.phase("activating", progress: 0.75)
        checkpoint.step = .swapping
        checkpoint.entries = entries
        ctx.checkpoint(checkpoint)
        do {
            for entry in entries {
                if entry.hadPrevious { try installer.move(entry.installPath, to: entry.aside) }
                if let staging = entry.staging { try installer.move(staging, to: entry.installPath) }
            }
        } catch {
            undo(entries)
            throw ManifestError.failed(step: "activating the packages", error)
        }

        // 3. The commit point: one agent-config write for install records, settings and enablement. The records are
        // made first and their `installedAt` checkpointed, so recovery can tell this write from an earlier one even
        // when the version stays the same (a reinstall).
        ctx.phase("configuring", progress: 0.8)
        var records: [String: JSONValue] = [:]
        do {
            for index in entries.indices {
                guard let version = entries[index].version else { continue }
                let record = try install.installRecordValue(name: entries[index].name, version: version, installPath: entries[index].installPath)
                records[entries[index].name] = record
                entries[index].installedAt = record["installedAt"]?.stringValue
            }
        } catch {
            undo(entries)
            throw ManifestError.failed(step: "writing the agent config", error)
        }
        checkpoint.step = .committing
        checkpoint.entries = entries
        ctx.checkpoint(checkpoint)
        var retired: [String] = []
        // What the write replaces, in memory only (secrets among them), to put back if the apply breaks a plugin.
        var previousRecords: [String: JSONValue?] = [:]
        var previousValues: [String: String?] = [:]
        do {
            try configFile.update { document in
                for entry in entries {
                    previousRecords[entry.name] = .some(AgentConfigEdits.installRecord(entry.name, in: document))
                    if let record = records[entry.name] {
                        AgentConfigEdits.setInstallRecord(entry.name, record, in: &document)
                    } else {
                        AgentConfigEdits.setInstallRecord(entry.name, nil, in: &document)
                        AgentConfigEdits.removeEnablement(entry.name, in: &document)
                    }
                }
                let env = document["env"]?.objectValue ?? JSONObject()
                for change in plan.changes where change.action == .set || change.action == .unset {
                    let key = change.key!
                    previousValues[key] = .some(env[key]?.stringValue)
                    if change.secret == true || change.from == nil, let old = env[key]?.stringValue { retired.append(old) }
                    PluginService.setSetting(key, change.to, in: &document)
                }
                for change in plan.changes where change.action == .enable || change.action == .disable {
                    plugins.setEnabled(change.plugin!, change.action == .enable, in: &document)
                }
            }
        } catch {
            undo(entries)
            throw ManifestError.failed(step: "writing the agent config", error)
        }
        plugins.retire(secrets: retired)
        // One reason, so the scheduler restarts the agent once for the whole apply; before the old trees go, so a
        // crash while they go still leaves the restart asked for (recovery asks again).
        try? reasons.add("a manifest was applied (\(plan.changes.count) change\(plan.changes.count == 1 ? "" : "s"))")
        checkpoint.step = .committed
        ctx.checkpoint(checkpoint)
        let changedAt = ISOTime.string()
        ctx.log("applied \(plan.changes.count) change\(plan.changes.count == 1 ? "" : "s")")

        // 4. One restart, one verdict for all.
        var judged: [ManifestApplyResult.Verdict] = []
        let document = (try? configFile.read()) ?? JSONObject()
        let touched = Set(entries.filter { $0.version != nil }.map(\.name))
            .union(plan.changes.filter { $0.action == .enable }.map { $0.plugin! })
        let waitFor = touched.sorted().filter { verdicts.applies(to: $0, in: document) }
        let mayRollBack = !loadedBefore.intersection(waitFor).isEmpty
        // The old trees stay aside until the verdict when it may put them back (a crash meanwhile keeps the apply).
        record(entries, operationId: ctx.id)
        if !mayRollBack { removeAsides(entries) }
        if !waitFor.isEmpty {
            ctx.phase("verifying load", progress: 0.9)
            ctx.log("waiting for the agent to restart and load \(waitFor.joined(separator: ", "))")
            for name in waitFor {
                let verdict = verdicts.verdict(package: name, changedAt: changedAt, timeLeftMs: ctx.stepTimeoutMs(.max))
                let error = verdict.error.map(plugins.scrubbedRuntimeText)
                judged.append(.init(plugin: name, loaded: verdict.loaded, loadError: error))
                if !verdict.loaded {
                    warnings.append("\(name) was applied but did not load: \(error ?? "no reason given").")
                }
            }
        }
        let broken = judged.filter { !$0.loaded && loadedBefore.contains($0.plugin) }
        guard mayRollBack, !broken.isEmpty else {
            if mayRollBack { removeAsides(entries) }
            return ManifestApplyResult(plan: plan, skipped: skip.sorted(), warnings: warnings, verdicts: judged)
        }

        // 5. A plugin that loaded before does not now: everything the apply changed is put back, as one more write.
        let why = broken.map { "\($0.plugin) \(manifest.packages[$0.plugin]?.version ?? "") failed to load: \($0.loadError ?? "no reason given")" }
            .joined(separator: "; ")
        ctx.phase("rolling back", progress: 0.95)
        ctx.log("\(why); putting back everything the apply changed")
        checkpoint.step = .rollingBack
        ctx.checkpoint(checkpoint)
        do {
            try configFile.update { document in
                for entry in entries { AgentConfigEdits.setInstallRecord(entry.name, previousRecords[entry.name] ?? nil, in: &document) }
                for (key, value) in previousValues { PluginService.setSetting(key, value, in: &document) }
                for change in plan.changes where change.action == .enable || change.action == .disable {
                    plugins.setEnabled(change.plugin!, change.action == .disable, in: &document)
                }
            }
        } catch {
            removeAsides(entries)
            checkpoint.step = .committed
            ctx.checkpoint(checkpoint)
            warnings.append("\(why); the apply could not be put back (\(error)), so it stays.")
            return ManifestApplyResult(plan: plan, skipped: skip.sorted(), warnings: warnings, verdicts: judged)
        }
        checkpoint.step = .rolledBack
        ctx.checkpoint(checkpoint)
        undo(entries)
        try? reasons.add("a manifest apply was put back (\(broken.map(\.plugin).joined(separator: ", ")) did not load)")
        let rolledBackAt = ISOTime.string()
        var again: [ManifestApplyResult.Verdict] = []
        let restored = (try? configFile.read()) ?? JSONObject()
        for name in broken.map(\.plugin) where verdicts.applies(to: name, in: restored) {
            let verdict = verdicts.verdict(package: name, changedAt: rolledBackAt, timeLeftMs: ctx.stepTimeoutMs(.max))
            again.append(.init(plugin: name, loaded: verdict.loaded, loadError: verdict.error.map(plugins.scrubbedRuntimeText)))
        }
        var message = why + "."
        if let still = again.first(where: { !$0.loaded }) {
            message += " After putting it back, \(still.plugin) did not load either: \(still.loadError ?? "no reason given")."
        }
        ctx.log("put back: \(message)")
        throw ManifestError.stepFailed(
            step: "verifying load", kind: .unprocessable, message: message,
            details: ["verdicts": (try? JSONEncoding.value(judged)) ?? .array([]), "verdictsAfterRollback": (try? JSONEncoding.value(again)) ?? .array([])])
    }

    /// Before the commit point: each new tree out, each old one back.
    private func undo(_ entries: [ApplyCheckpoint.Entry]) {
        let installer = install.treeInstaller
        let aside = (try? installer.list(install.installLayout.asideRoot)) ?? []
        for entry in entries.reversed() {
            if aside.contains((entry.aside as NSString).lastPathComponent) {
                try? installer.remove(entry.installPath)
                try? installer.move(entry.aside, to: entry.installPath)
            } else if !entry.hadPrevious, entry.staging != nil {
                try? installer.remove(entry.installPath)
            }
            if let staging = entry.staging { try? installer.remove(staging) }
        }
    }

    /// After the commit point: the old trees go, the history gets its rows, removed packages lose their kept versions.
    private func finish(_ entries: [ApplyCheckpoint.Entry], operationId: String) {
        removeAsides(entries)
        record(entries, operationId: operationId)
    }

    private func removeAsides(_ entries: [ApplyCheckpoint.Entry]) {
        for entry in entries {
            try? install.treeInstaller.remove(entry.aside)
            if let staging = entry.staging { try? install.treeInstaller.remove(staging) }
        }
    }

    private func record(_ entries: [ApplyCheckpoint.Entry], operationId: String) {
        for entry in entries {
            if let version = entry.version {
                install.recordInstalled(name: entry.name, version: version, integrity: entry.integrity, operationId: operationId)
            } else {
                install.forgetRemoved(name: entry.name, installPath: entry.installPath)
            }
        }
    }

    // MARK: After a crash

    /// Settles an apply whose process died: committed when the agent config has every install record it was writing
    /// (or, with no packages, every setting and flag), then finished; otherwise every tree goes back.
    public func recover(_ record: OperationRecord) -> Bool {
        let installer = install.treeInstaller
        let layout = install.installLayout
        defer {
            for root in [layout.stagingRoot, layout.downloadRoot] {
                for entry in (try? installer.list(root)) ?? [] where entry.hasPrefix(record.id) { try? installer.remove(root + "/" + entry) }
            }
        }
        guard let checkpoint = record.checkpoint(as: ApplyCheckpoint.self) else { return false }
        let entries = checkpoint.entries.filter { layout.isInsideInstallRoot($0.installPath) }
        switch checkpoint.step {
        case .staging:
            return false
        case .committed:
            finish(entries, operationId: record.id)
            try? reasons.add("a manifest was applied (recovered after a stop)")
            return true
        case .rollingBack, .rolledBack:
            // Put back after a plugin failed to load: the write that puts the records back decides.
            let document = (try? configFile.read()) ?? JSONObject()
            if checkpoint.step == .rollingBack, !entries.isEmpty, entries.allSatisfy({ $0.isWritten(in: document) }) {
                removeAsides(entries)
                try? reasons.add("a manifest was applied (recovered after a stop)")
                return true
            }
            undo(entries)
            try? reasons.add("a manifest apply was put back (recovered after a stop)")
            return false
        case .swapping, .committing:
            let document = (try? configFile.read()) ?? JSONObject()
            let committed = entries.isEmpty
                ? checkpoint.writes.hold(in: document, plugins: plugins)
                : entries.allSatisfy { $0.isWritten(in: document) }
            if committed {
                finish(entries, operationId: record.id)
                try? reasons.add("a manifest was applied (recovered after a stop)")
            } else {
                undo(entries)
            }
            return committed
        }
    }

    static func describe(_ change: ManifestChange) -> String {
        let subject = change.plugin ?? change.key ?? ""
        switch change.action {
        case .set, .unset: return "\(change.action.rawValue) \(subject)"
        case .enable, .disable: return "\(change.action.rawValue) \(subject)"
        default: return "\(change.action.rawValue) \(subject) \(change.from ?? "-") → \(change.to ?? "-")"
        }
    }
}

/// How far an apply got: every path it touches, and the settings and flags it writes (never a secret's value: a
/// manifest has none, and an unset is written as null).
struct ApplyCheckpoint: Codable {
    enum Step: String, Codable {
        case staging, swapping, committing, committed
        /// A plugin that loaded before the apply did not after it: the previous records, settings and flags are
        /// being written back (`rollingBack`), then the old trees go back in place (`rolledBack`).
        case rollingBack, rolledBack
    }

    struct Entry: Codable, Equatable {
        let name: String
        let installPath: String
        let aside: String
        var staging: String?
        let hadPrevious: Bool
        /// The version put in place; nil: removed.
        let version: String?
        var integrity: String?
        /// The `installedAt` of the install record the commit writes (nil: removed, or not yet known).
        var installedAt: String?

        /// Whether the agent config holds what the commit writes for this package: its install record, or none.
        func isWritten(in document: JSONObject) -> Bool {
            let record = AgentConfigEdits.installRecord(name, in: document)
            guard let version else { return record == nil }
            guard record?["version"]?.stringValue == version else { return false }
            return installedAt == nil || record?["installedAt"]?.stringValue == installedAt
        }
    }

    struct Writes: Codable {
        var settings: [String: String?]
        var enabled: [String: Bool]

        init(_ plan: ManifestPlan) {
            settings = [:]
            enabled = [:]
            for change in plan.changes {
                switch change.action {
                case .set, .unset: settings[change.key!] = .some(change.to)
                case .enable, .disable: enabled[change.plugin!] = change.action == .enable
                default: break
                }
            }
        }

        /// Whether the agent config has what the apply was writing.
        func hold(in document: JSONObject, plugins: PluginService) -> Bool {
            guard let view = try? plugins.settingsView(config: document) else { return false }
            for (key, value) in settings where view.values[key] != value { return false }
            for (name, on) in enabled where (view.plugins[name]?.enabled ?? false) != on { return false }
            return true
        }
    }

    var step: Step
    var entries: [Entry]
    var writes: Writes
}

/// What an apply answers (and its operation records as its result).
public struct ManifestApplyResult: Sendable, Encodable {
    public struct Verdict: Sendable, Encodable {
        public let plugin: String
        public let loaded: Bool
        public let loadError: String?
    }

    public let ok = true
    public let changes: [ManifestChange]
    public let missingSecrets: [String]
    public let skipped: [String]
    public let warnings: [String]
    public let requiresRestart: Bool
    /// The runtime's verdict on each package and plugin the apply put in or enabled; empty when nobody waited.
    public let verdicts: [Verdict]
    public let message: String

    init(plan: ManifestPlan, skipped: [String], warnings: [String], verdicts: [Verdict]) {
        self.changes = plan.changes
        self.missingSecrets = plan.missingSecrets
        self.skipped = skipped
        self.warnings = warnings
        self.requiresRestart = plan.requiresRestart
        self.verdicts = verdicts
        let count = plan.changes.count
        self.message = count == 0
            ? "Nothing to change: this agent already has the manifest's plugin set."
            : "The manifest was applied: \(count) change\(count == 1 ? "" : "s"); the agent restarts to load them."
    }
}

/// The recovery the executable registers for `manifest-apply` operations.
public struct ManifestRecovery: OperationRecovery {
    let service: ManifestService
    public init(service: ManifestService) { self.service = service }
    public func recover(_ record: OperationRecord) -> Bool { service.recover(record) }
}
