import Foundation
import JSON
import Operations
import Plugins
import Runner
import Stores

extension InstallService {
    // MARK: POST /api/plugins/:id/rollback

    /// Puts the kept previous version of an installed package back, as an operation: the version it replaces is kept
    /// in turn (so a rollback can be undone the same way), then the runtime's verdict is awaited like an install's.
    public func rollback(name: String, operationId: String?, requestId: String?) throws -> RollbackResult {
        try operations.ensureIdle(name)
        if ejectedCopyExists(name) {
            throw InstallError.conflict("\(name) runs from its ejected copy, which has no previous npm version; reinject it first.")
        }
        let document = try configFile.read()
        guard let record = AgentConfigEdits.installRecord(name, in: document), let current = record["version"]?.stringValue else {
            throw InstallError.conflict("\(name) is not installed from npm, so there is no previous version to roll back to.")
        }
        guard let kept = try versions.kept(name), keptTreeExists(kept) else {
            throw InstallError.conflict("No previous version of \(name) is kept (only an upgrade keeps one); install the version you want instead.")
        }
        try layout.prepare(installer)
        let installPath = record["installPath"]?.stringValue ?? kept.installPath
        return try operations.perform(kind: "rollback", target: name, operationId: operationId, requestId: requestId) { ctx in
            ctx.phase("rolling back", progress: 0.3)
            ctx.log("rolling \(name) back from \(current) to \(kept.version)")
            let replaced = PluginVersionStore.Kept(
                name: name, version: current, spec: record["spec"]?.stringValue ?? "\(name)@\(current)", installPath: installPath,
                installedAt: record["installedAt"]?.stringValue, integrity: try? history.integrity(name: name, version: current))
            let changedAt = try restore(kept, replacing: replaced, loadError: nil, ctx: ctx)
            let enabled = isEnabledNow(name)
            var result = RollbackResult(
                requiresRestart: enabled, plugin: .init(name: name, version: kept.version, installPath: installPath), replacedVersion: current,
                loaded: nil, loadError: nil, warnings: [])
            if verdicts.waits && enabled {
                ctx.phase("verifying load", progress: 0.9)
                let verdict = verdictWait.verdict(package: name, changedAt: changedAt, timeLeftMs: ctx.stepTimeoutMs(.max))
                try? versions.recordVerdict(name: name, version: kept.version, loaded: verdict.loaded, error: verdict.error)
                result.loaded = verdict.loaded
                result.loadError = verdict.error.map(scrubber.scrub)
                if !verdict.loaded {
                    result.warnings.append("\(name) \(kept.version) was put back but did not load: \(result.loadError ?? "no reason given")")
                }
            }
            ctx.log("rolled \(name) back to \(kept.version)")
            return result
        }
    }

    /// Moves the current tree aside and the kept one into place, then points the agent config at the kept version:
    /// the same commit point as an install (the agent config), each step checkpointed. `replacing` is kept in turn;
    /// nil drops the replaced tree (an upgrade that did not load). Answers when the restart reason was in.
    func restore(_ kept: PluginVersionStore.Kept, replacing replaced: PluginVersionStore.Kept?, loadError: String?, ctx: OperationContext) throws -> String {
        var checkpoint = InstallCheckpoint(
            step: .restoring, installPath: kept.installPath, aside: layout.asideRoot + "/\(ctx.id)-replaced", version: kept.version)
        checkpoint.restoring = kept
        checkpoint.kept = keptPath(kept.installPath)
        checkpoint.replaced = replaced
        checkpoint.loadError = loadError
        ctx.checkpoint(checkpoint)
        return try finishRestore(kept.name, checkpoint, operationId: ctx.id) { ctx.checkpoint($0) }
    }

    /// Takes a restore from wherever its checkpoint says it got to (the same code runs after a crash): every step
    /// looks at what is where before it moves anything.
    func finishRestore(
        _ name: String, _ start: InstallCheckpoint, operationId: String, save: (InstallCheckpoint) -> Void
    ) throws -> String {
        guard let restoring = start.restoring, let keptTree = start.kept, layout.isInsideInstallRoot(start.installPath) else {
            throw InstallError.conflict("The rollback of \(name) has no kept version recorded.")
        }
        var checkpoint = start
        let installPath = start.installPath
        let aside = start.aside
        func exists(_ path: String) -> Bool {
            ((try? installer.list((path as NSString).deletingLastPathComponent)) ?? []).contains((path as NSString).lastPathComponent)
        }
        if checkpoint.step == .restoring {
            if exists(installPath) && exists(keptTree) && !exists(aside) { try move(installPath, to: aside) }
            if !exists(installPath) {
                if exists(keptTree) {
                    try move(keptTree, to: installPath)
                } else {
                    if exists(aside) { try move(aside, to: installPath) }
                    throw InstallError.conflict("The kept version of \(name) is gone; nothing was rolled back.")
                }
            }
            let record = InstallRecord(
                spec: restoring.spec, installPath: installPath, version: restoring.version, installedAt: restoring.installedAt ?? ISOTime.string())
            try configFile.update { document in
                AgentConfigEdits.setInstallRecord(name, try JSONEncoding.value(record), in: &document)
            }
            checkpoint.step = .restored
            save(checkpoint)
        }
        // The agent config names the kept version: the rest is bookkeeping, repeated safely after a crash.
        if (try? history.integrity(name: name, version: restoring.version)) == nil {
            try? history.record(name: name, version: restoring.version, integrity: restoring.integrity, operationId: operationId)
        }
        try? versions.forgetKept(name)
        if let replaced = checkpoint.replaced, exists(aside) {
            try? installer.remove(keptTree)
            if (try? installer.move(aside, to: keptTree)) != nil { try? versions.keep(replaced) }
        } else if let replaced = checkpoint.replaced, exists(keptTree) {
            try? versions.keep(replaced)
        }
        try? installer.remove(aside)
        try reasons.add("\(name) was rolled back to \(restoring.version)")
        return ISOTime.string()
    }
}

extension InstallService {
    // MARK: After a crash

    /// Settles an interrupted install, uninstall or rollback, saying what state it left: a rollback (manual, or one an
    /// upgrade that did not load started) is finished; an install killed while waiting for its verdict asks the runtime
    /// once, and without an answer the new version stays with `loaded` unknown.
    public func recoverSaying(_ record: OperationRecord) -> (committed: Bool, note: String?) {
        let outcome = recoverWithResult(record)
        return (outcome.committed, outcome.note)
    }

    /// The same, with the result a committed operation answers, rebuilt from its checkpoint: the version in place,
    /// and the verdict when recovery got one (null otherwise).
    public func recoverWithResult(_ record: OperationRecord) -> Recovered {
        let checkpoint = record.checkpoint(as: InstallCheckpoint.self)
        let name = record.target
        if let checkpoint, checkpoint.step == .restoring || checkpoint.step == .restored, let restoring = checkpoint.restoring {
            let save: (InstallCheckpoint) -> Void = { saved in
                try? operations.store.update(
                    id: record.id, phase: record.phase, progress: record.progress, logTail: record.logTail, checkpoint: try? JSONEncoding.value(saved))
            }
            do {
                _ = try finishRestore(name, checkpoint, operationId: record.id, save: save)
            } catch {
                return Recovered(committed: record.kind != "rollback", note: "plugind stopped during a rollback of \(name), which could not be finished: \(error)")
            }
            guard record.kind == "rollback" else {
                return Recovered(committed: false, note: "rolled back to \(restoring.version): \(checkpoint.loadError ?? "the new version did not load")")
            }
            return Recovered(
                committed: true, note: "plugind stopped during the rollback of \(name) to \(restoring.version); the rollback was completed.",
                result: RollbackResult(
                    requiresRestart: isEnabledNow(name), plugin: .init(name: name, version: restoring.version, installPath: checkpoint.installPath),
                    replacedVersion: checkpoint.replaced?.version, loaded: nil, loadError: nil, warnings: []))
        }
        let committed = recover(record)
        guard committed, let checkpoint else { return Recovered(committed: committed, note: nil) }
        if record.kind == "uninstall" {
            return Recovered(committed: true, note: nil, result: UninstallResult(requiresRestart: checkpoint.wasEnabled == true, pluginName: name))
        }
        guard record.kind == "install", let version = checkpoint.version else { return Recovered(committed: true, note: nil) }
        func installed(_ verdict: LoadVerdict?, _ note: String) -> Recovered {
            Recovered(committed: true, note: note, result: InstallResult(
                requiresRestart: true, plugin: .init(name: name, version: version, installPath: checkpoint.installPath), forced: checkpoint.forced == true,
                loaded: verdict?.loaded, loadError: verdict?.error.map(scrubber.scrub)))
        }
        let complete = "plugind stopped after the change was committed: \(name) \(version) is installed; the change is complete."
        guard checkpoint.changedAt != nil, verdicts.waits, isEnabledNow(name) else { return installed(nil, complete) }
        guard let verdict = verdicts.current(package: name) else {
            return installed(nil, "plugind stopped while waiting for the agent to load \(name) \(version); the runtime gave no verdict, so \(version) stays installed (loaded unknown).")
        }
        try? versions.recordVerdict(name: name, version: version, loaded: verdict.loaded, error: verdict.error)
        if verdict.loaded { return installed(verdict, "plugind stopped while waiting for the agent to load \(name) \(version); it loaded.") }
        let why = "\(name) \(version) failed to load: \(verdict.error.map(scrubber.scrub) ?? "no reason given")"
        if checkpoint.rollbackOnFailure == true, let previous = checkpoint.previousVersion, let kept = try? versions.kept(name), kept.version == previous,
            keptTreeExists(kept)
        {
            var restore = InstallCheckpoint(step: .restoring, installPath: kept.installPath, aside: layout.asideRoot + "/\(record.id)-replaced", version: previous)
            restore.restoring = kept
            restore.kept = keptPath(kept.installPath)
            restore.loadError = why
            let save: (InstallCheckpoint) -> Void = { saved in
                try? operations.store.update(
                    id: record.id, phase: "rolling back", progress: record.progress, logTail: record.logTail, checkpoint: try? JSONEncoding.value(saved))
            }
            save(restore)
            if (try? finishRestore(name, restore, operationId: record.id, save: save)) != nil {
                return Recovered(committed: false, note: "rolled back to \(previous): \(why)")
            }
        }
        return installed(verdict, "plugind stopped while waiting for the agent to load \(name) \(version); \(why)")
    }
}
