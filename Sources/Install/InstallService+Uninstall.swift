import Foundation
import JSON
import Operations
import Plugins
import Runner
import Stores

extension InstallService {
    // MARK: POST /api/plugins/uninstall

    /// Removes an installed package: renamed away first, then the record and the enablement go, then the files.
    public func uninstall(name: String, purgeConfig: Bool, operationId: String?, requestId: String?) throws -> UninstallResult {
        try PackageNames.check(name, legacyAllowed: true, action: "uninstalled")
        // What follows reads the state an install of the same package may be changing right now.
        try operations.ensureIdle(name)
        let document = try configFile.read()
        let record = AgentConfigEdits.installRecord(name, in: document)
        let installPath = try record?["installPath"]?.stringValue ?? layout.installPath(for: name)
        let onDisk = FileManager.default.fileExists(atPath: installPath)
        if ejectedCopyExists(name) {
            throw InstallError.conflict("\(name) has an ejected copy; reinject it first, then uninstall.")
        }
        if record == nil && !onDisk {
            if core.isCore(name) {
                throw InstallError.conflict("\(name) is a core plugin of the agent: it is part of every start and cannot be uninstalled or disabled.")
            }
            if core.isOptionalCore(name) {
                throw InstallError.conflict("\(name) is an optional core plugin bundled with the agent, not installed; turn it off with POST /api/plugins/core/toggle instead.")
            }
            if (try? catalogue.current())?.plugins.contains(where: { $0.key == name }) == true {
                throw InstallError.conflict("\(name) is bundled with the agent, not installed; disable it instead.")
            }
            throw InstallError.notFound("\(name) is not installed.")
        }
        guard layout.isInsideInstallRoot(installPath) else {
            throw InstallError.conflict("The install record of \(name) points outside the install root (\(installPath)); plugind will not delete it.")
        }
        try layout.prepare(installer)
        return try operations.perform(kind: "uninstall", target: name, operationId: operationId, requestId: requestId) { ctx in
            ctx.phase("removing", progress: 0.2)
            let aside = layout.asideRoot + "/\(ctx.id)"
            var checkpoint = InstallCheckpoint(step: .moving, installPath: installPath, aside: aside)
            ctx.checkpoint(checkpoint)
            if onDisk { try move(installPath, to: aside) }
            let enabledBefore = AgentConfigEdits.isEnabled(name, optionalCore: core.isOptionalCore(name), in: (try? configFile.read()) ?? JSONObject())
            checkpoint.step = .moved
            checkpoint.wasEnabled = enabledBefore
            ctx.checkpoint(checkpoint)
            let wasEnabled: Bool
            do {
                wasEnabled = try configFile.update { document -> Bool in
                    let optional = core.isOptionalCore(name)
                    let enabled = AgentConfigEdits.isEnabled(name, optionalCore: optional, in: document)
                    AgentConfigEdits.setInstallRecord(name, nil, in: &document)
                    AgentConfigEdits.removeEnablement(name, in: &document)
                    if purgeConfig { purgeKeys(of: name, packageDirectory: aside, in: &document) }
                    return enabled
                }
            } catch {
                if onDisk { try? move(aside, to: installPath) }
                throw error
            }
            checkpoint.step = .committed
            checkpoint.wasEnabled = wasEnabled
            ctx.checkpoint(checkpoint)
            try? installer.remove(aside)
            forgetRemoved(name: name, installPath: installPath)
            if wasEnabled { try reasons.add("\(name) was uninstalled") }
            ctx.log("uninstalled \(name)")
            let done = UninstallResult(requiresRestart: wasEnabled, pluginName: name)
            return done
        }
    }

    /// Removes the env keys only this package declares (other plugins' keys stay).
    private func purgeKeys(of name: String, packageDirectory aside: String, in document: inout JSONObject) {
        let manifestPath = PluginPaths.packageDirectory(installPath: aside, npmName: name) + "/package.json"
        // The tree is set aside already, in the installer's folder: read through it.
        guard let data = try? installer.read(manifestPath), let manifest = try? JSONParser.parse(data, maxDepth: 64) else { return }
        let own = Set(KnownPlugin.parameters(fromPackage: manifest).map(\.key))
        let inventory = PluginInventory(catalogue: (try? catalogue.current()) ?? .empty, paths: PluginPaths(stateDir: layout.stateDir, bundledPluginsDir: nil), core: core)
        var others: Set<String> = []
        for plugin in inventory.plugins(config: document) where plugin.key != name {
            for parameter in plugin.parameters { others.insert(parameter.key) }
        }
        guard var env = document["env"]?.objectValue else { return }
        for key in own.subtracting(others) { env[key] = nil }
        document["env"] = .object(env)
    }

    func ejectedCopyExists(_ name: String) -> Bool { ejectedCopyNames().contains(name) }

    /// The npm names the ejected copies' package.json files give.
    func ejectedCopyNames() -> Set<String> {
        let root = layout.state.ejected
        var names: Set<String> = []
        for directory in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            if let name = ParsedJSONFiles.shared.value(at: root + "/" + directory + "/package.json")?["name"]?.stringValue {
                names.insert(name)
            }
        }
        return names
    }

    // MARK: GET /api/plugins/installed

    /// Records plus what is on disk; every row says `missing`: true when the package's directory is gone.
    public func installed() throws -> InstalledList {
        let document = try configFile.current()
        var rows: [String: InstalledPlugin] = [:]
        let integrity = (try? history.integrities()) ?? [:]
        let recorded = (try? versions.verdicts()) ?? [:]
        // The runtime's status now beats the last recorded verdict (a disable and enable since changed what it
        // loads): it is read once no restart is pending, so it is about the version in place — unless the agent
        // loads an ejected copy instead.
        let ejected = ejectedCopyNames()
        let live = verdicts.current(packages: (document["plugins"]?["installs"]?.objectValue ?? JSONObject()).keys.filter { !ejected.contains($0) })
        let kept = Dictionary(((try? versions.allKept()) ?? []).map { ($0.name, $0.version) }, uniquingKeysWith: { a, _ in a })
        func row(name: String, version: String?, installedAt: String?, installPath: String, integrity: String?, source: String, missing: Bool) -> InstalledPlugin {
            let verdict = live[name]
                ?? recorded[name].flatMap { $0.version == version ? LoadVerdict(loaded: $0.loaded, error: $0.error) : nil }
            return self.row(
                name: name, version: version, installedAt: installedAt, installPath: installPath, integrity: integrity, source: source, missing: missing,
                verdict: verdict, previousVersion: kept[name])
        }
        for record in document["plugins"]?["installs"]?.objectValue ?? JSONObject() {
            let name = record.key
            let installPath = record.value["installPath"]?.stringValue ?? ((try? layout.installPath(for: name)) ?? "")
            let manifest = ParsedJSONFiles.shared.value(at: PluginPaths.packageDirectory(installPath: installPath, npmName: name) + "/package.json")
            let version = manifest?["version"]?.stringValue ?? record.value["version"]?.stringValue
            rows[name] = row(name: name, version: version, installedAt: record.value["installedAt"]?.stringValue, installPath: installPath,
                             integrity: version.flatMap { integrity[name + "@" + $0] }, source: record.value["source"]?.stringValue ?? "npm",
                             missing: manifest == nil)
        }
        // Install directories without a record still count.
        for directory in (try? FileManager.default.contentsOfDirectory(atPath: layout.installRoot)) ?? [] where !directory.hasPrefix(".") {
            let installPath = layout.installRoot + "/" + directory
            guard let manifest = ParsedJSONFiles.shared.value(at: installPath + "/package.json"), let deps = manifest["dependencies"]?.objectValue
            else { continue }
            for name in deps.keys where rows[name] == nil && PluginIdentity.directoryName(name) == directory {
                let package = ParsedJSONFiles.shared.value(at: PluginPaths.packageDirectory(installPath: installPath, npmName: name) + "/package.json")
                let version = package?["version"]?.stringValue
                rows[name] = row(name: name, version: version, installedAt: nil, installPath: installPath,
                                 integrity: version.flatMap { integrity[name + "@" + $0] }, source: "npm", missing: package == nil)
            }
        }
        return InstalledList(plugins: rows.keys.sorted().compactMap { rows[$0] })
    }

    private func row(
        name: String, version: String?, installedAt: String?, installPath: String, integrity: String?, source: String, missing: Bool,
        verdict: LoadVerdict?, previousVersion: String?
    ) -> InstalledPlugin {
        let latest = listing.latestVersion(name)
        var updateAvailable: Bool?
        if let latest, let version, let a = try? VersionChoice.parse(latest), a.isExact, let newer = VersionChoice.isNewer(latest, than: version) {
            // Only a version that fits the agent's core is an update (issue 19).
            updateAvailable = newer && listing.latestIsCompatible(name) != false
        }
        return InstalledPlugin(
            name: name, version: version, installedAt: installedAt, installPath: installPath, integrity: integrity, source: source,
            latestVersion: latest, updateAvailable: updateAvailable, missing: missing, loaded: verdict?.loaded,
            loadError: verdict?.error.map(scrubber.scrub), previousVersion: previousVersion,
            advisories: advisories.advisories(name, version: version))
    }

    // MARK: After a crash

    /// Settles an install or uninstall whose process died: committed if the agent config says so,
    /// otherwise the previous tree goes back. Answers whether the commit point was reached.
    public func recover(_ record: OperationRecord) -> Bool {
        let checkpoint = record.checkpoint(as: InstallCheckpoint.self)
        let staging = checkpoint?.staging ?? layout.stagingRoot + "/\(record.id)"
        defer {
            try? installer.remove(staging)
            try? installer.remove(layout.downloadRoot + "/\(record.id)")
        }
        guard let checkpoint, layout.isInsideInstallRoot(checkpoint.installPath) else { return false }
        let (step, installPath, aside) = (checkpoint.step, checkpoint.installPath, checkpoint.aside)
        let document = (try? configFile.read()) ?? JSONObject()
        let recorded = AgentConfigEdits.installRecord(record.target, in: document)
        let committed: Bool
        if record.kind == "uninstall" {
            committed = step == .committed || (step == .moved && recorded == nil)
        } else {
            committed = step == .committed || (step == .swapped && recorded != nil && recorded?["version"]?.stringValue == checkpoint.version)
        }
        if committed {
            // The tree an upgrade replaced, unless it was kept already (then it is no longer aside).
            if record.kind == "install", checkpoint.changedAt != nil, let previous = checkpoint.previousVersion,
                (try? versions.kept(record.target))??.version != previous,
                ((try? installer.list(layout.asideRoot)) ?? []).contains((aside as NSString).lastPathComponent)
            {
                keep(PluginVersionStore.Kept(
                    name: record.target, version: previous, spec: "\(record.target)@\(previous)", installPath: installPath, installedAt: nil,
                    integrity: try? history.integrity(name: record.target, version: previous)), from: aside)
            }
            try? installer.remove(aside)
            // Finish what the crash cut short after the commit point: the history row and the restart.
            if record.kind == "install", let version = checkpoint.version {
                if (try? history.integrity(name: record.target, version: version)) == nil {
                    try? history.record(name: record.target, version: version, integrity: checkpoint.integrity, operationId: record.id)
                }
                // A checkpoint with `changedAt` was written after the reason was in: adding it again would only move it.
                if checkpoint.changedAt == nil { try? reasons.add("\(record.target)@\(version) was installed") }
            } else if record.kind == "uninstall", checkpoint.wasEnabled == true {
                try? reasons.add("\(record.target) was uninstalled")
            }
            return true
        }
        // Not committed: whatever is in the install path is the new tree; the old one goes back.
        // The trees set aside are the installer's (plugind may not look inside): asked, not stat'ed.
        if ((try? installer.list((aside as NSString).deletingLastPathComponent)) ?? []).contains((aside as NSString).lastPathComponent) {
            if record.kind == "install" { try? installer.remove(installPath) }
            if !FileManager.default.fileExists(atPath: installPath) { try? move(aside, to: installPath) }
        } else if record.kind == "install", checkpoint.hadPrevious == false, step == .swapped || step == .swapping {
            // Nothing was there before this install: whatever is at the path now is its new tree.
            try? installer.remove(installPath)
        }
        return false
    }

    /// At start, after recovery: staging folders, set-aside trees and downloads no running operation owns.
    public func clearLeftovers(running: Set<String>) {
        for root in [layout.stagingRoot, layout.asideRoot] {
            for entry in (try? installer.list(root)) ?? [] where !running.contains(entry) && !running.contains(String(entry.prefix(36))) {
                try? installer.remove(root + "/" + entry)
            }
        }
        // A kept tree without its row (a crash between the two) is no version anyone can roll back to.
        let keptNames = Set(((try? versions.allKept()) ?? []).map { ($0.installPath as NSString).lastPathComponent })
        for entry in (try? installer.list(layout.keptRoot)) ?? [] where !keptNames.contains(entry) {
            try? installer.remove(layout.keptRoot + "/" + entry)
        }
        // One directory per install (its verified tarballs and npm's temporary files).
        for entry in (try? installer.list(layout.downloadRoot)) ?? [] where !running.contains(entry) {
            try? installer.remove(layout.downloadRoot + "/" + entry)
        }
    }
}

/// The recovery hook the operations runner calls for install and uninstall operations.
public struct InstallRecovery: OperationRecovery {
    let service: InstallService
    public init(service: InstallService) { self.service = service }
    public func recover(_ record: OperationRecord) -> Bool { service.recoverSaying(record).committed }
    public func recoverSaying(_ record: OperationRecord) -> (committed: Bool, note: String?) { service.recoverSaying(record) }
    public func recoverWithResult(_ record: OperationRecord) -> Recovered { service.recoverWithResult(record) }
}
