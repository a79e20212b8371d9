import Foundation
import JSON
import Operations
import Plugins
import Stores

extension EjectService {
    // MARK: POST /api/plugins/:id/sync

    /// Optionally merges upstream (keeping uncommitted edits and local commits), then always reinstalls
    /// and rebuilds. A conflict puts the working tree, index and commits back exactly as they were.
    public func sync(npmName: String, pull: Bool, operationId: String?, requestId: String?) throws -> SyncResult {
        let repo = ejectedPath(npmName)
        guard FileManager.default.fileExists(atPath: repo + "/.git") else { throw EjectError.notFound("\(npmName) is not ejected.") }
        return try operations.perform(kind: "sync", target: npmName, operationId: operationId, requestId: requestId) { ctx in
            let git = git.watched(by: ctx)
            let upstream = readUpstream(repo)
            let branch = try upstream["branch"]?.stringValue ?? git.must(["rev-parse", "--abbrev-ref", "HEAD"], in: repo, timeoutMs: 10_000, what: "branch")
            let before = try git.must(["rev-parse", "HEAD"], in: repo, timeoutMs: 10_000, what: "HEAD")
            var upstreamCommits = 0
            if pull {
                ctx.phase("fetching", progress: 0.1)
                try git.must(["fetch", "origin", branch], in: repo, timeoutMs: ctx.stepTimeoutMs(gitTimeoutMs), what: "fetch")
                upstreamCommits = Int(try git.must(["rev-list", "--count", "HEAD..origin/\(branch)"], in: repo, timeoutMs: 10_000, what: "count")) ?? 0
                if upstreamCommits > 0 {
                    ctx.phase("merging", progress: 0.3)
                    // What recovery checks the copy against after a crash: HEAD and the status of every file.
                    let status = try git.must(["status", "--porcelain", "--untracked-files=all"], in: repo, timeoutMs: 10_000, what: "status")
                    ctx.checkpoint(SyncCheckpoint(step: .merging, head: before, status: status))
                    try merge(repo: repo, npmName: npmName, branch: branch, before: before, ctx: ctx)
                }
            }
            let after = try git.must(["rev-parse", "HEAD"], in: repo, timeoutMs: 10_000, what: "HEAD")
            ctx.checkpoint(SyncCheckpoint(step: .merged, head: after, upstreamCommits: upstreamCommits))
            ctx.phase("building", progress: 0.6)
            do {
                try installAndBuild(repo, pluginName: npmName, ctx: ctx)
            } catch let error as EjectError {
                // `.upstream.json` names the real HEAD whatever the build did; what the agent loads is unchanged.
                var kept = upstream
                kept["commitHash"] = .string(after)
                try? writeUpstream(repo, .object(kept))
                if case .refused(let message, let tail) = error, upstreamCommits > 0 {
                    throw EjectError.refused(message + " The merge of \(upstreamCommits) upstream commit(s) was kept; fix the build and sync again.", logTail: tail)
                }
                throw error
            }
            ctx.checkpoint(SyncCheckpoint(step: .built, head: after, upstreamCommits: upstreamCommits))
            let localChanges = !(try git.must(["status", "--porcelain"], in: repo, timeoutMs: 10_000, what: "status")).isEmpty
            let localCommits = Int(try git.run(["rev-list", "--count", "origin/\(branch)..HEAD"], in: repo, timeoutMs: 10_000, what: "count").text
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            var updated = upstream
            updated["commitHash"] = .string(after)
            updated["lastSyncAt"] = .string(ISOTime.string(from: work.clock.now))
            updated["localCommits"] = .number(localCommits)
            try writeUpstream(repo, .object(updated))
            // Restarts follow what the agent loads: the built tree compared with the one the agent last got (an
            // earlier sync whose build failed left it behind), not this sync's own before and after.
            let changed = try recordBuild(repo)
            if changed { try reasons.add("\(npmName) was synced") }
            let changedAt = ISOTime.string()
            var done = SyncResult(requiresRestart: changed, upstreamCommits: upstreamCommits, localChanges: localChanges, commit: after)
            if changed, let document = try? configFile.read(), verdicts.applies(to: npmName, in: document) {
                judge(&done, npmName: npmName, repo: repo, before: before, changedAt: changedAt, ctx: ctx)
            }
            return done
        }
    }

    /// Waits for the runtime's verdict on the synced code. Code that does not load is not rolled back (the copy is
    /// the user's: a reset could lose their commits); the answer says so and how to go back.
    private func judge(_ result: inout SyncResult, npmName: String, repo: String, before: String, changedAt: String, ctx: OperationContext) {
        ctx.phase("verifying load", progress: 0.95)
        ctx.log("waiting for the agent to restart and load \(npmName) at \(result.commit.prefix(12))")
        let verdict = verdicts.verdict(package: npmName, changedAt: changedAt, timeLeftMs: ctx.stepTimeoutMs(.max))
        result.loaded = verdict.loaded
        result.loadError = verdict.error.map(scrubber.scrub)
        guard !verdict.loaded else {
            ctx.log("\(npmName) loaded")
            return
        }
        let why = "\(npmName) did not load after the sync (HEAD \(result.commit.prefix(12))): \(result.loadError ?? "no reason given")"
        ctx.log(why)
        let back = before == result.commit
            ? "fix the copy in \(repo) and sync again"
            : "revert the change with git in \(repo) (git revert the commits since \(before.prefix(12)), or — with no uncommitted edits to keep — git reset --hard \(before.prefix(12)) to drop them) and sync again"
        result.warnings.append("\(why). An ejected copy is not rolled back automatically: \(back), or reinject it to go back to the published package.")
    }

    /// Stash uncommitted edits, merge, and put them back; on any conflict, restore exactly the old state.
    private func merge(repo: String, npmName: String, branch: String, before: String, ctx: OperationContext) throws {
        let git = git.watched(by: ctx)
        let dirty = !(try git.must(["status", "--porcelain"], in: repo, timeoutMs: 10_000, what: "status")).isEmpty
        // The stash is the record a crash is undone from: named after the operation, so recovery finds exactly it.
        let stash: String? = dirty ? "stash@{0}" : nil
        if dirty {
            try git.must(["stash", "push", "--include-untracked", "-m", Self.stashLabel(ctx.id)], in: repo, timeoutMs: 30_000, what: "stash")
        }
        let merged = try git.run(["merge", "--no-edit", "origin/\(branch)"], in: repo, timeoutMs: ctx.stepTimeoutMs(gitTimeoutMs), what: "merge")
        if merged.status != 0 {
            let conflicts = (try? git.run(["diff", "--name-only", "--diff-filter=U"], in: repo, timeoutMs: 10_000, what: "conflicts"))?.text
                .split(separator: "\n").map(String.init) ?? []
            _ = try? git.run(["merge", "--abort"], in: repo, timeoutMs: 30_000, what: "merge --abort")
            putBack(repo: repo, head: before, stash: stash, git: git)
            throw EjectError.conflict("Upstream changes conflict with the local copy; nothing was changed.", conflicts: conflicts)
        }
        // The right code or none: an upstream that now publishes another package is not merged.
        do {
            try checkPackageName(in: repo, npmName: npmName, repository: "The merged upstream", ctx: ctx)
        } catch {
            putBack(repo: repo, head: before, stash: stash, git: git)
            throw error
        }
        if dirty {
            let popped = try git.run(["stash", "pop", "--index"], in: repo, timeoutMs: 30_000, what: "stash pop")
            if popped.status != 0 {
                var conflicts = (try? git.run(["diff", "--name-only", "--diff-filter=U"], in: repo, timeoutMs: 10_000, what: "conflicts"))?.text
                    .split(separator: "\n").map(String.init) ?? []
                // An untracked local file in the way of an upstream one: git says "<path> already exists, no checkout".
                for line in popped.text.split(separator: "\n") where line.hasSuffix(" already exists, no checkout") {
                    conflicts.append(String(line.dropLast(" already exists, no checkout".count)))
                }
                // Back to exactly before: the old commit, then the edits on top of it (they applied there once).
                putBack(repo: repo, head: before, stash: stash, git: git)
                throw EjectError.conflict("Upstream changes conflict with uncommitted local edits; nothing was changed.", conflicts: conflicts)
            }
        }
        ctx.log("merged upstream into \(branch)")
    }

    /// Puts the copy back as it was before a sync: the commit `head`, then the stash entry `stash` (the edits the
    /// sync set aside) on top. A sync stashes whenever the copy is not clean, untracked files included, so every
    /// untracked file found after the reset was written by the sync (a failed pop, an interrupted merge) and goes
    /// first: it would block the pop.
    func putBack(repo: String, head: String, stash: String?, git: Git? = nil) {
        let git = git ?? self.git
        _ = try? git.run(["reset", "--hard", "-q", head], in: repo, timeoutMs: 30_000, what: "reset")
        if let leftovers = try? git.run(["ls-files", "--others", "--exclude-standard", "-z"], in: repo, timeoutMs: 10_000, what: "untracked"),
            leftovers.status == 0
        {
            for path in leftovers.text.split(separator: "\0") where !path.isEmpty && !path.contains("..") { try? installer.remove(repo + "/" + path) }
        }
        if let stash { _ = try? git.run(["stash", "pop", "--index", stash], in: repo, timeoutMs: 30_000, what: "stash pop") }
    }

    /// The message of the stash entry a sync keeps the edits in while it merges.
    static func stashLabel(_ operationId: String) -> String { "plugind-sync \(operationId)" }

    /// The stash entry (`stash@{n}`) whose message is `label`, if the copy has one.
    func stashEntry(_ repo: String, label: String) -> String? {
        syncStashes(repo).first { $0.label == label }?.entry
    }

    /// Stash entries a sync made and never gave back (an interrupted sync whose edits could not be put back).
    func syncStashes(_ repo: String) -> [(entry: String, label: String)] {
        guard let list = try? git.run(["stash", "list", "--format=%gd%x09%gs"], in: repo, timeoutMs: 10_000, what: "stash list"), list.status == 0 else { return [] }
        return list.text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            // The subject is "On <branch>: <message>".
            guard parts.count == 2, let colon = parts[1].range(of: ": plugind-sync ") else { return nil }
            return (String(parts[0]), String(parts[1][parts[1].index(colon.lowerBound, offsetBy: 2)...]))
        }
    }

    // MARK: POST /api/plugins/:id/reinject

    /// Back to the published package: refused with local edits or commits unless forced; the copy is archived, never deleted.
    public func reinject(npmName: String, force: Bool, operationId: String?, requestId: String?) throws -> ReinjectResult {
        let repo = ejectedPath(npmName)
        guard FileManager.default.fileExists(atPath: repo) else { throw EjectError.notFound("\(npmName) is not ejected.") }
        return try operations.perform(kind: "reinject", target: npmName, operationId: operationId, requestId: requestId) { ctx in
            let state = localState(repo)
            if !force, let entry = state.stashed.first {
                throw EjectError.conflict(
                    "An interrupted sync left edits of the ejected copy in \(entry); run git stash pop there, or send {\"force\": true} to archive it anyway.",
                    conflicts: [])
            }
            if !force && (state.changes || state.commits > 0) {
                throw EjectError.conflict(
                    "The ejected copy has \(state.changes ? "uncommitted edits" : "")\(state.changes && state.commits > 0 ? " and " : "")\(state.commits > 0 ? "\(state.commits) local commit(s)" : ""); send {\"force\": true} to archive it anyway.",
                    conflicts: [])
            }
            try installer.makeDirectory(archiveRoot, mode: 0o700)
            let stamp = ISOTime.string(from: work.clock.now).replacingOccurrences(of: ":", with: "-")
            let archived = archiveRoot + "/" + PluginIdentity.directoryName(npmName) + "-" + stamp
            do {
                try installer.move(repo, to: archived)
            } catch {
                throw EjectError.upstream("Cannot move the ejected copy to \(archived).")
            }
            try reasons.add("\(npmName) was reinjected")
            ctx.log("archived the ejected copy to \(archived)")
            let done = ReinjectResult(archivedTo: archived)
            return done
        }
    }

    /// Uncommitted edits (a sync's leftover stash entry counts: those are edits too, only out of view) and commits
    /// not upstream.
    func localState(_ repo: String) -> (changes: Bool, commits: Int, stashed: [String]) {
        let branch = readUpstream(repo)["branch"]?.stringValue ?? "HEAD"
        let status = (try? git.run(["status", "--porcelain"], in: repo, timeoutMs: 10_000, what: "status"))
        let count = (try? git.run(["rev-list", "--count", "origin/\(branch)..HEAD"], in: repo, timeoutMs: 10_000, what: "count"))
        let stashed = syncStashes(repo).map(\.entry)
        return (!(status?.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true) || !stashed.isEmpty,
                Int(count?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0, stashed)
    }

    // MARK: GET /api/plugins/ejected

    public func ejected() -> EjectedList {
        var rows: [EjectedPlugin] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: ejectedRoot)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        for directory in names {
            let repo = ejectedRoot + "/" + directory
            guard let data = FileManager.default.contents(atPath: repo + "/package.json"),
                let manifest = try? JSONParser.parse(Array(data), maxDepth: 64), let name = manifest["name"]?.stringValue
            else { continue }
            let upstream = readUpstream(repo)
            let state = localState(repo)
            rows.append(EjectedPlugin(
                name: name, localPath: repo, version: manifest["version"]?.stringValue,
                upstream: .init(
                    gitUrl: upstream["gitUrl"]?.stringValue, branch: upstream["branch"]?.stringValue, commit: upstream["commitHash"]?.stringValue,
                    ejectedAt: upstream["ejectedAt"]?.stringValue, lastSyncAt: upstream["lastSyncAt"]?.stringValue),
                localChanges: state.changes, localCommits: state.commits,
                warning: state.stashed.isEmpty
                    ? nil : "An interrupted sync left your edits in \(state.stashed.joined(separator: ", ")); run git stash pop there in \(repo), then sync again."))
        }
        return EjectedList(plugins: rows)
    }

    // MARK: After a crash

    /// A sync interrupted mid-merge: abort the merge and restore the edits, as a conflict would.
    public func recover(_ record: OperationRecord) -> Bool {
        recoverSaying(record).committed
    }

    /// Settles a sync whose process died, and says truly what it left: restored and verified, the merge kept
    /// without its build, or complete; when the edits could not be put back, where they are.
    public func recoverSaying(_ record: OperationRecord) -> (committed: Bool, note: String?) {
        let outcome = recoverWithResult(record)
        return (outcome.committed, outcome.note)
    }

    /// The same, with a completed sync's result: its commit, the upstream commits it merged and the copy's state now
    /// (`loaded` null: nobody waited for the verdict).
    public func recoverWithResult(_ record: OperationRecord) -> Recovered {
        let repo = ejectedPath(record.target)
        guard record.kind == "sync", let checkpoint = record.checkpoint(as: SyncCheckpoint.self) else { return Recovered(committed: false, note: nil) }
        let head = checkpoint.head
        switch checkpoint.step {
        case .built:
            try? reasons.add("\(record.target) was synced")
            _ = try? recordBuild(repo)
            let status = try? git.run(["status", "--porcelain"], in: repo, timeoutMs: 10_000, what: "status")
            return Recovered(
                committed: true, note: "plugind stopped after the sync of \(record.target) was built (HEAD \(head.prefix(12))); the change is complete.",
                result: SyncResult(
                    requiresRestart: true, upstreamCommits: checkpoint.upstreamCommits ?? 0,
                    localChanges: !(status?.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true), commit: head))
        case .merged:
            // The merge is in; its build never finished. The copy says so, and the agent keeps what it loaded.
            var upstream = readUpstream(repo)
            upstream["commitHash"] = .string(head)
            try? writeUpstream(repo, .object(upstream))
            return Recovered(
                committed: false, note: "plugind stopped while the sync built: the merge is kept (HEAD \(head.prefix(12))) but not built; sync again to build it.")
        case .merging:
            let outcome = recoverMerge(record, repo: repo, head: head, recorded: checkpoint.status ?? "")
            return Recovered(committed: outcome.committed, note: outcome.note)
        }
    }

    /// A sync interrupted between its checkpoint and the end of its merge. The operation's recorded processes have
    /// been ended (`OperationRunner.recoverInterrupted`), so git's `index.lock` is stale. Where the crash fell
    /// decides what to do, and the note says only what can be seen to be true:
    /// - the sync's stash entry exists: the edits are in it; back to the old HEAD, then the entry on top;
    /// - no entry, HEAD unmoved: git never stored the stash (the copy is untouched) or the copy was clean (a
    ///   partial checkout is reset);
    /// - no entry, HEAD moved: the merge and the pop both finished; the merge is kept, with the edits on top.
    func recoverMerge(_ record: OperationRecord, repo: String, head: String, recorded: String) -> (committed: Bool, note: String?) {
        try? installer.remove(repo + "/.git/index.lock")
        if FileManager.default.fileExists(atPath: repo + "/.git/MERGE_HEAD") {
            _ = try? git.run(["merge", "--abort"], in: repo, timeoutMs: 30_000, what: "merge --abort")
        }
        let wasDirty = !recorded.isEmpty
        let entry = stashEntry(repo, label: Self.stashLabel(record.id))
        let current = (try? git.run(["rev-parse", "HEAD"], in: repo, timeoutMs: 10_000, what: "HEAD"))?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if entry == nil, let current, current != head, wasDirty {
            var upstream = readUpstream(repo)
            upstream["commitHash"] = .string(current)
            try? writeUpstream(repo, .object(upstream))
            return (false, "plugind stopped as the sync's merge ended: the merge is kept (HEAD \(current.prefix(12))) with your uncommitted edits on top, but not built; sync again to build it.")
        }
        if entry != nil || !wasDirty {
            putBack(repo: repo, head: head, stash: entry)
        }
        let now = (try? git.run(["rev-parse", "HEAD"], in: repo, timeoutMs: 10_000, what: "HEAD"))?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = (try? git.run(["status", "--porcelain", "--untracked-files=all"], in: repo, timeoutMs: 10_000, what: "status"))?.text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let stillStashed = stashEntry(repo, label: Self.stashLabel(record.id))
        if now == head && stillStashed == nil && status == recorded.trimmingCharacters(in: .whitespacesAndNewlines) {
            return (false, "plugind stopped during the sync's merge; the copy was put back as it was (HEAD \(head.prefix(12))\(wasDirty ? ", your uncommitted edits back in place" : "")).")
        }
        if let stillStashed {
            return (false, "plugind stopped during the sync's merge and could not put the copy back: your uncommitted edits are in the stash entry \(stillStashed) ('\(Self.stashLabel(record.id))') of \(repo), HEAD was \(head.prefix(12)).")
        }
        return (false, "plugind stopped during the sync's merge and could not verify the copy: HEAD was \(head.prefix(12)) and is \(now.map { String($0.prefix(12)) } ?? "unknown"); check \(repo) with git status before syncing again.")
    }

    /// Records what the agent will load from the copy (its commit and the content of its files, build output
    /// included); answers whether that differs from what was recorded last, so the agent must restart.
    func recordBuild(_ repo: String) throws -> Bool {
        let fingerprint = BuildFingerprint.of(repo)
        let recorded = FileManager.default.contents(atPath: repo + "/.git/plugind-built").map { String(decoding: $0, as: UTF8.self) }
        guard recorded != fingerprint else { return false }
        try installer.write(Array(fingerprint.utf8), to: repo + "/.git/plugind-built")
        return true
    }
}

/// The recovery hook for sync operations.
public struct EjectRecovery: OperationRecovery {
    let service: EjectService
    public init(service: EjectService) { self.service = service }
    public func recover(_ record: OperationRecord) -> Bool { service.recover(record) }
    public func recoverSaying(_ record: OperationRecord) -> (committed: Bool, note: String?) { service.recoverSaying(record) }
    public func recoverWithResult(_ record: OperationRecord) -> Recovered { service.recoverWithResult(record) }
}
