import Foundation
import JSON
import Operations
import Stores
import TestWorld
import Testing

@testable import Eject

/// The eject service as plugind wires it, against a real git repository on disk as the plugin's upstream.
@Suite struct EjectServiceTests {
    let world: World
    init() throws { world = try World() }

    var eject: EjectService { world.wiring.eject }
    var upstream: String { world.base + "/git/" + World.ejectable.repo }
    var copy: String { eject.ejectedPath(World.ejectable.npm) }

    func git(_ arguments: [String], in directory: String) throws {
        try World.run("/usr/bin/git", ["-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"] + arguments, in: directory)
    }

    func output(_ arguments: [String], in directory: String) throws -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": directory, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"]
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The copy is at the installed version's tag, and `.upstream.json` is in the shape Milady's reader takes.
    @Test func ejectWritesTheUpstreamRecord() throws {
        let result = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        #expect(result.localPath == copy && result.checkedOut.contains("v\(World.ejectable.version)"))
        let upstream = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: copy + "/.upstream.json"))))
        #expect(upstream.objectValue?.keys.first == "$schema")
        #expect(upstream["npmVersion"]?.stringValue == World.ejectable.version)
        #expect(upstream["commitHash"]?.stringValue == result.commit)
        #expect(upstream["lastSyncAt"] == .null && upstream["localCommits"] == 0)
    }

    /// A plugin with no code on this agent has no version to eject at: refused before anything is cloned.
    @Test func absentCodeIsRefused() {
        #expect {
            _ = try eject.eject(npmName: "@elizaos/plugin-browser", operationId: nil, requestId: nil)
        } throws: { error in
            guard case EjectError.conflict(let message, _) = error else { return false }
            return message.contains("install it first")
        }
        #expect(!FileManager.default.fileExists(atPath: world.stateDir + "/plugins/.staging") || (try? FileManager.default.contentsOfDirectory(atPath: world.stateDir + "/plugins/.staging"))?.isEmpty == true)
    }

    /// An upstream commit merges, and the copy's fingerprint asks for a restart; a second sync with nothing new
    /// does not.
    @Test func syncMergesAndRestartsOnlyOnChange() throws {
        _ = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        try "module.exports = { v: 2 };\n".write(toFile: upstream + "/index.js", atomically: true, encoding: .utf8)
        try git(["commit", "-qam", "v2"], in: upstream)
        let first = try eject.sync(npmName: World.ejectable.npm, pull: true, operationId: nil, requestId: nil)
        #expect(first.upstreamCommits == 1 && first.requiresRestart && !first.localChanges)
        #expect(try String(contentsOfFile: copy + "/index.js", encoding: .utf8).contains("v: 2"))
        let second = try eject.sync(npmName: World.ejectable.npm, pull: true, operationId: nil, requestId: nil)
        #expect(second.upstreamCommits == 0 && !second.requiresRestart)
    }

    /// With a runtime that restarts by itself, a sync of an enabled plugin waits for the restart and the runtime's
    /// verdict: the fake agent host comes back without the synced plugin, so the answer says `loaded: false` with why,
    /// and a warning says the copy was not rolled back and how to go back. A sync that changed nothing waits for
    /// nothing (`loaded` null).
    @Test func syncWaitsForTheVerdictAndSaysHowToGoBack() throws {
        let world = try World(settings: [("autoRestart", "true"), ("restartDebounceMs", "100"), ("verdictTimeoutMs", "15000")])
        let eject = world.wiring.eject
        let upstream = world.base + "/git/" + World.ejectable.repo
        let scheduler = try #require(world.wiring.scheduler)
        scheduler.start()
        defer { scheduler.stop() }
        try world.wiring.agentConfig.update { document -> Bool in
            var plugins = document["plugins"]?.objectValue ?? [:]
            var entries = plugins["entries"]?.objectValue ?? [:]
            entries["acp"] = ["enabled": true]
            plugins["entries"] = .object(entries)
            document["plugins"] = .object(plugins)
            return true
        }
        _ = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        let before = try output(["rev-parse", "HEAD"], in: eject.ejectedPath(World.ejectable.npm))
        try "module.exports = { v: 2 };\n".write(toFile: upstream + "/index.js", atomically: true, encoding: .utf8)
        try git(["commit", "-qam", "v2"], in: upstream)
        let id = UUID().uuidString.lowercased()
        let synced = try eject.sync(npmName: World.ejectable.npm, pull: true, operationId: id, requestId: nil)
        #expect(synced.requiresRestart && synced.upstreamCommits == 1)
        #expect(synced.loaded == false)
        #expect(synced.loadError == "the agent runtime does not list \(World.ejectable.npm) after its restart")
        #expect(synced.warnings.count == 1)
        let warning = try #require(synced.warnings.first)
        #expect(warning.contains("not rolled back automatically") && warning.contains("git reset --hard \(before.prefix(12))") && warning.contains("reinject"))
        let recorded = try #require(try world.wiring.operations.store.get(id)?.result)
        #expect(recorded["loaded"] == false && recorded["warnings"]?.arrayValue?.count == 1)
        let again = try eject.sync(npmName: World.ejectable.npm, pull: true, operationId: nil, requestId: nil)
        #expect(!again.requiresRestart && again.loaded == nil && again.loadError == nil && again.warnings.isEmpty)
    }

    /// An uncommitted local edit that clashes with upstream: 409 listing the file, the copy exactly as before.
    @Test func conflictingEditIsPutBack() throws {
        _ = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        try "module.exports = { local: true };\n".write(toFile: copy + "/index.js", atomically: true, encoding: .utf8)
        try "module.exports = { upstream: true };\n".write(toFile: upstream + "/index.js", atomically: true, encoding: .utf8)
        try git(["commit", "-qam", "clash"], in: upstream)
        let head = try output(["rev-parse", "HEAD"], in: copy)
        #expect {
            _ = try eject.sync(npmName: World.ejectable.npm, pull: true, operationId: nil, requestId: nil)
        } throws: { error in
            guard case EjectError.conflict(_, let conflicts) = error else { return false }
            return conflicts == ["index.js"]
        }
        #expect(try output(["rev-parse", "HEAD"], in: copy) == head)
        #expect(try String(contentsOfFile: copy + "/index.js", encoding: .utf8).contains("local: true"))
        #expect(try output(["stash", "list"], in: copy).isEmpty)
    }

    /// Reinject refuses a copy with edits unless forced, and then archives it rather than deleting it.
    @Test func reinjectArchives() throws {
        _ = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        try "edited\n".write(toFile: copy + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(throws: EjectError.self) { _ = try eject.reinject(npmName: World.ejectable.npm, force: false, operationId: nil, requestId: nil) }
        let result = try eject.reinject(npmName: World.ejectable.npm, force: true, operationId: nil, requestId: nil)
        #expect(try String(contentsOfFile: result.archivedTo + "/notes.txt", encoding: .utf8) == "edited\n")
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    /// After a crash mid-merge, the sync's own stash entry is popped on the old HEAD: the copy is as it was, and the
    /// operation's note says so only because it checked.
    @Test func recoveryRestoresFromTheSyncStash() throws {
        _ = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        try "module.exports = { mine: true };\n".write(toFile: copy + "/index.js", atomically: true, encoding: .utf8)
        try "notes\n".write(toFile: copy + "/notes.txt", atomically: true, encoding: .utf8)
        let head = try output(["rev-parse", "HEAD"], in: copy)
        let status = try output(["status", "--porcelain", "--untracked-files=all"], in: copy)
        let id = UUID().uuidString.lowercased()
        try git(["stash", "push", "-q", "--include-untracked", "-m", EjectService.stashLabel(id)], in: copy)
        try "half-merged\n".write(toFile: copy + "/index.js", atomically: true, encoding: .utf8)
        try "".write(toFile: copy + "/.git/index.lock", atomically: true, encoding: .utf8)
        let store = world.wiring.operations.store
        #expect(try store.begin(OperationRecord(id: id, kind: "sync", target: World.ejectable.npm, requestId: nil), owner: OperationOwner(pid: 999_999, token: "gone")) == .started)
        try store.update(id: id, phase: "merging", progress: 0.3, logTail: [], checkpoint: ["step": "merging", "head": .string(head), "status": .string(status)])
        let outcome = eject.recoverSaying(try #require(try store.get(id)))
        #expect(!outcome.committed && outcome.note?.contains("put back as it was") == true)
        #expect(try output(["status", "--porcelain", "--untracked-files=all"], in: copy) == status)
        #expect(try String(contentsOfFile: copy + "/index.js", encoding: .utf8).contains("mine: true"))
        #expect(try output(["stash", "list"], in: copy).isEmpty)
    }

    /// Edits a crash left in a sync's stash entry show as a warning on the list and count as local changes.
    @Test func leftoverStashIsShown() throws {
        _ = try eject.eject(npmName: World.ejectable.npm, operationId: nil, requestId: nil)
        try "mine\n".write(toFile: copy + "/notes.txt", atomically: true, encoding: .utf8)
        try git(["stash", "push", "-q", "--include-untracked", "-m", EjectService.stashLabel(UUID().uuidString.lowercased())], in: copy)
        let row = try #require(eject.ejected().plugins.first)
        #expect(row.localChanges && row.warning?.contains("stash@{0}") == true)
    }
}
