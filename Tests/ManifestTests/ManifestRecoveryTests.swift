import Foundation
import JSON
import Manifest
import Operations
import Stores
import TestWorld
import Testing

/// A manifest's apply cut short by a crash, settled at the next start (docs/fleet.md): before its agent-config write
/// every tree goes back and the operation failed; after it the apply is finished. The states are those a crash leaves
/// (directories as the renames leave them, a running operation of a dead process with its checkpoint), settled by
/// the recovery plugind registers, over plugind as the composition root builds it.
@Suite struct ManifestRecoveryTests {
    let world: World
    init() throws { world = try World() }

    static let name = World.installed.npm
    static let newInstalledAt = "2026-02-02T02:02:02.222Z"

    var store: OperationStore { world.wiring.operations.store }
    var reasons: [String] { (try? RestartReasonStore(db: world.wiring.database).all()) ?? [] }
    var configBytes: Data { FileManager.default.contents(atPath: world.stateDir + "/milady.json") ?? Data() }

    func marker(_ path: String) -> String? { try? String(contentsOfFile: path + "/marker", encoding: .utf8) }

    func settle() throws -> OperationRecord? {
        try world.wiring.operations.recoverInterrupted(using: [ManifestService.operationKind: ManifestRecovery(service: world.wiring.manifest)])
        return try store.get(operationId)
    }

    let operationId = UUID().uuidString.lowercased()

    /// A reinstall of the installed plugin at the same version plus one setting, as a dead plugind's apply left it.
    /// `swapped`: the old tree aside and the new one in place (else the new one still staged); `written`: the agent
    /// config holds the apply's install record and setting.
    func interrupted(step: String, swapped: Bool, written: Bool) throws -> (installPath: String, aside: String, staging: String) {
        let installPath = try #require(world.agentConfig["plugins"]?["installs"]?[Self.name]?["installPath"]?.stringValue)
        let aside = world.stateDir + "/plugins/.aside/\(operationId)-0"
        let staging = world.stateDir + "/plugins/.staging/\(operationId)-0"
        for root in [world.stateDir + "/plugins/.aside", world.stateDir + "/plugins/.staging"] {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }
        try "old".write(toFile: installPath + "/marker", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try "new".write(toFile: staging + "/marker", atomically: true, encoding: .utf8)
        if swapped {
            try FileManager.default.moveItem(atPath: installPath, toPath: aside)
            try FileManager.default.moveItem(atPath: staging, toPath: installPath)
        }
        if written {
            try world.wiring.agentConfig.update { document -> Bool in
                var plugins = document["plugins"]?.objectValue ?? [:]
                var installs = plugins["installs"]?.objectValue ?? [:]
                var record = installs[Self.name]?.objectValue ?? [:]
                record["installedAt"] = .string(Self.newInstalledAt)
                installs[Self.name] = .object(record)
                plugins["installs"] = .object(installs)
                document["plugins"] = .object(plugins)
                var env = document["env"]?.objectValue ?? [:]
                env["RECOVERY_MODE"] = "new"
                document["env"] = .object(env)
                return true
            }
        }
        #expect(try store.begin(
            OperationRecord(id: operationId, kind: ManifestService.operationKind, target: ManifestService.operationTarget, requestId: nil),
            owner: OperationOwner(pid: 999_999, token: "gone")) == .started)
        let entry: JSONObject = [
            "name": .string(Self.name), "installPath": .string(installPath), "aside": .string(aside), "staging": .string(staging),
            "hadPrevious": true, "version": .string(World.installed.version), "integrity": .null, "installedAt": .string(Self.newInstalledAt),
        ]
        try store.update(id: operationId, phase: "activating", progress: 0.75, logTail: [], checkpoint: [
            "step": .string(step), "entries": .array([.object(entry)]),
            "writes": ["settings": ["RECOVERY_MODE": "new"], "enabled": [:]],
        ])
        return (installPath, aside, staging)
    }

    /// Killed between the swap and the agent-config write of a same-version reinstall: the config already names that
    /// version (from the earlier install), yet the apply's write did not happen; the old tree goes back, the config
    /// is untouched, and the operation failed.
    @Test func aReinstallCutBeforeItsWriteGoesBack() throws {
        let before = configBytes
        let (installPath, aside, staging) = try interrupted(step: "committing", swapped: true, written: false)
        let record = try #require(try settle())
        #expect(record.state == .failed)
        #expect(record.error?.hasPrefix("Interrupted: ") == true)
        #expect(marker(installPath) == "old")
        #expect(!FileManager.default.fileExists(atPath: aside) && !FileManager.default.fileExists(atPath: staging))
        #expect(configBytes == before)
        #expect(!reasons.contains { $0.contains("manifest") })
    }

    /// Killed while swapping, before any rename: the old tree stays, the staged one goes.
    @Test func anApplyCutBeforeItsRenamesLeavesTheOldTree() throws {
        let before = configBytes
        let (installPath, _, staging) = try interrupted(step: "swapping", swapped: false, written: false)
        #expect(try settle()?.state == .failed)
        #expect(marker(installPath) == "old")
        #expect(!FileManager.default.fileExists(atPath: staging))
        #expect(configBytes == before)
    }

    /// Killed after the agent-config write: the apply is finished — the new tree stays, the old one goes, the agent is
    /// asked to restart, and the operation succeeded with a result saying so.
    @Test func anApplyCutAfterItsWriteIsFinished() throws {
        let (installPath, aside, _) = try interrupted(step: "committing", swapped: true, written: true)
        let after = configBytes
        let record = try #require(try settle())
        #expect(record.state == .succeeded)
        #expect(record.result?["ok"] == true)
        #expect(marker(installPath) == "new")
        #expect(!FileManager.default.fileExists(atPath: aside))
        #expect(configBytes == after)
        #expect(reasons.contains { $0.contains("manifest") })
    }

    /// Killed while still staging: nothing in place had changed; the staged trees go and the operation failed.
    @Test func anApplyCutWhileStagingChangesNothing() throws {
        let before = configBytes
        let (installPath, _, staging) = try interrupted(step: "staging", swapped: false, written: false)
        #expect(try settle()?.state == .failed)
        #expect(marker(installPath) == "old")
        #expect(!FileManager.default.fileExists(atPath: staging))
        #expect(configBytes == before)
    }

    /// Killed while putting an apply back (a plugin that loaded before did not after it), before the write that puts
    /// the records back: the apply stands — the new tree stays, the old one goes, the operation succeeded.
    @Test func aRollbackCutBeforeItsWriteKeepsTheApply() throws {
        let (installPath, aside, _) = try interrupted(step: "rollingBack", swapped: true, written: true)
        #expect(try settle()?.state == .succeeded)
        #expect(marker(installPath) == "new")
        #expect(!FileManager.default.fileExists(atPath: aside))
    }

    /// Killed after the write that put the records back (or while the trees go back): the rollback is finished —
    /// the old tree is in place again and the operation failed.
    @Test(arguments: ["rollingBack", "rolledBack"]) func aRollbackCutAfterItsWriteIsFinished(step: String) throws {
        let before = configBytes
        let (installPath, aside, _) = try interrupted(step: step, swapped: true, written: false)
        let record = try #require(try settle())
        #expect(record.state == .failed)
        #expect(marker(installPath) == "old")
        #expect(!FileManager.default.fileExists(atPath: aside))
        #expect(configBytes == before)
        #expect(reasons.contains { $0.contains("put back") })
    }
}
