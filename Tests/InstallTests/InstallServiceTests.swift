import Foundation
import Install
import JSON
import Operations
import Runner
import Stores
import TestSupport
import TestWorld
import Testing
import Vocabulary

/// The install service as plugind wires it, against a loopback npm registry serving a real tarball with its real
/// sha512 integrity, and npm itself.
@Suite struct InstallServiceTests {
    let world: World
    init() throws { world = try World() }

    var install: InstallService { world.wiring.install }
    var reasons: RestartReasonStore { RestartReasonStore(db: world.wiring.database) }
    var history: InstallHistoryStore { InstallHistoryStore(db: world.wiring.database) }

    func record(_ name: String) -> JSONValue? { world.agentConfig["plugins"]?["installs"]?[name] }

    /// The package lands in its own directory, the agent config records it, its integrity goes into the history, and
    /// the agent is asked to restart.
    @Test func installsAndRecords() throws {
        let result = try install.install(name: World.published.npm, version: nil, enable: true, operationId: nil, requestId: nil)
        #expect(result.requiresRestart && result.plugin.version == World.published.version)
        #expect(FileManager.default.fileExists(atPath: result.plugin.installPath + "/node_modules/\(World.published.npm)/index.js"))
        #expect(record(World.published.npm)?["installPath"]?.stringValue == result.plugin.installPath)
        #expect(try history.integrity(name: World.published.npm, version: World.published.version)?.hasPrefix("sha512-") == true)
        #expect(try reasons.all().contains("\(World.published.npm)@\(World.published.version) was installed"))
    }

    /// The same version again downloads nothing and changes nothing the agent loads.
    @Test func sameVersionAgainIsANoOp() throws {
        _ = try install.install(name: World.published.npm, version: nil, enable: true, operationId: nil, requestId: nil)
        let installedAt = record(World.published.npm)?["installedAt"]
        let again = try install.install(name: World.published.npm, version: World.published.version, enable: true, operationId: nil, requestId: nil)
        #expect(!again.requiresRestart)
        #expect(record(World.published.npm)?["installedAt"] == installedAt)
    }

    /// A tarball whose bytes do not match the packument's integrity is refused before npm sees it; nothing changes.
    @Test func wrongIntegrityIsRefused() throws {
        let tampered = try LoopbackServer { request in
            let path = request.path.removingPercentEncoding ?? request.path
            if path == "/" + World.published.npm {
                let integrity = "sha512-" + Data(repeating: 7, count: 64).base64EncodedString()
                let packument = #"{"name":"\#(World.published.npm)","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"\#(World.published.npm)","version":"1.0.0","dist":{"tarball":"http://\#(request.header("host") ?? "")/t.tgz","integrity":"\#(integrity)"}}}}"#
                return .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array(packument.utf8))
            }
            return .respond(status: 200, body: Array("not the tarball".utf8))
        }
        let other = try World(settings: [("npmRegistry", tampered.baseURL + "/")])
        let before = other.agentConfig
        #expect(throws: InstallError.self) {
            _ = try other.wiring.install.install(name: World.published.npm, version: nil, enable: true, operationId: nil, requestId: nil)
        }
        #expect(other.agentConfig == before)
        #expect(!FileManager.default.fileExists(atPath: other.stateDir + "/plugins/installed/_acme_plugin-api-fixture"))
        tampered.stop()
    }

    /// Unknown packages are not found; with unlisted packages not allowed, one the registry does not list is refused.
    @Test func refusals() throws {
        #expect(throws: InstallError.notFound("The npm registry has no package named @acme/plugin-nowhere.")) {
            _ = try install.install(name: "@acme/plugin-nowhere", version: nil, enable: true, operationId: nil, requestId: nil)
        }
        let strict = try World(settings: [("allowUnlistedPackages", "false")])
        strict.wiring.registry.warmUp()
        strict.wiring.registry.waitForRefresh()
        #expect {
            _ = try strict.wiring.install.install(name: World.published.npm, version: nil, enable: true, operationId: nil, requestId: nil)
        } throws: { error in
            if case InstallError.unlisted = error { return true }
            return false
        }
    }

    /// Uninstall takes the tree and the record away and, as the plugin was enabled, asks for a restart.
    @Test func uninstall() throws {
        let path = try #require(record(World.installed.npm)?["installPath"]?.stringValue)
        let result = try install.uninstall(name: World.installed.npm, purgeConfig: false, operationId: nil, requestId: nil)
        #expect(result.requiresRestart)
        #expect(record(World.installed.npm) == nil && !FileManager.default.fileExists(atPath: path))
        // Still in Milady's catalogue: bundled with the agent, so disabling is what is left.
        #expect(throws: InstallError.conflict("\(World.installed.npm) is bundled with the agent, not installed; disable it instead.")) {
            _ = try install.uninstall(name: World.installed.npm, purgeConfig: false, operationId: nil, requestId: nil)
        }
        // A core plugin cannot be disabled either: the message does not send anyone there.
        let coreName = try #require(CorePolicy.miladyCore.first)
        #expect(throws: InstallError.conflict("\(coreName) is a core plugin of the agent: it is part of every start and cannot be uninstalled or disabled.")) {
            _ = try install.uninstall(name: coreName, purgeConfig: false, operationId: nil, requestId: nil)
        }
        #expect {
            _ = try install.uninstall(name: "../x", purgeConfig: false, operationId: nil, requestId: nil)
        } throws: { error in
            guard case InstallError.badRequest(let message) = error else { return false }
            return message.hasPrefix("'../x' cannot be uninstalled: ")
        }
        #expect(throws: InstallError.notFound("@acme/plugin-nowhere is not installed.")) {
            _ = try install.uninstall(name: "@acme/plugin-nowhere", purgeConfig: false, operationId: nil, requestId: nil)
        }
    }

    /// The installed list says, for every row, whether its directory is still there.
    @Test func installedRowsSayMissing() throws {
        let rows = try install.installed().plugins
        #expect(rows.first { $0.name == World.installed.npm }?.missing == false)
        #expect(rows.first { $0.name == World.ejectable.npm }?.missing == true)
        #expect(rows.map(\.name) == rows.map(\.name).sorted())
    }

    /// While an operation on a package runs, uninstalling it is refused as busy, naming that operation.
    @Test func uninstallWhileBusy() throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let operations = world.wiring.operations
        Thread.detachNewThread {
            _ = try? operations.run(kind: "install", target: World.installed.npm) { _ in
                entered.signal()
                release.wait()
                return nil
            }
        }
        entered.wait()
        defer { release.signal() }
        #expect {
            _ = try install.uninstall(name: World.installed.npm, purgeConfig: false, operationId: nil, requestId: nil)
        } throws: { error in
            if case OperationError.busy = error { return true }
            return false
        }
        #expect(record(World.installed.npm) != nil)
    }

    /// An install a crash cut short after its new tree was swapped in but before the agent config named it: the
    /// old tree goes back and the operation is not committed.
    @Test func recoveryPutsTheOldTreeBack() throws {
        let (id, installPath, aside) = try interruptedInstall(step: "swapped", version: "9.9.9")
        let record = try #require(try world.wiring.operations.store.get(id))
        #expect(!install.recover(record))
        #expect(try String(contentsOfFile: installPath + "/marker", encoding: .utf8) == "old")
        #expect(!FileManager.default.fileExists(atPath: aside))
    }

    /// Past the commit point (the agent config names the new version) recovery finishes: the old tree goes, the
    /// history row and the restart reason are written.
    @Test func recoveryFinishesACommittedInstall() throws {
        let (id, _, aside) = try interruptedInstall(step: "swapped", version: World.installed.version)
        let record = try #require(try world.wiring.operations.store.get(id))
        #expect(install.recover(record))
        #expect(!FileManager.default.fileExists(atPath: aside))
        #expect(try reasons.all().contains("\(World.installed.npm)@\(World.installed.version) was installed"))
    }

    /// A committed install recovered at start answers what the install would have: the version in place, where, not
    /// forced, no verdict (nobody waited), and the note that the change is complete — not a null result.
    @Test func recoveredInstallRecordsItsResult() throws {
        let (id, installPath, _) = try interruptedInstall(step: "swapped", version: World.installed.version)
        try world.wiring.operations.recoverInterrupted(using: ["install": InstallRecovery(service: install)])
        let recorded = try #require(try world.wiring.operations.store.get(id))
        #expect(recorded.state == .succeeded)
        let result = try #require(recorded.result)
        #expect(result.objectValue?.keys == ["ok", "requiresRestart", "plugin", "forced", "loaded", "loadError", "warnings", "message"])
        #expect(result["plugin"] == ["name": .string(World.installed.npm), "version": .string(World.installed.version), "installPath": .string(installPath)])
        #expect(result["ok"] == true && result["requiresRestart"] == true && result["forced"] == false)
        #expect(result["loaded"] == .null && result["loadError"] == .null)
        let warnings = try #require(result["warnings"]?.arrayValue)
        #expect(warnings.count == 1 && warnings[0].stringValue?.hasSuffix("the change is complete.") == true)
        #expect(recorded.logTail.last == warnings[0].stringValue)
    }

    /// A committed uninstall recovered at start answers like the uninstall: restart needed when it was enabled.
    @Test func recoveredUninstallRecordsItsResult() throws {
        let installPath = try #require(record(World.installed.npm)?["installPath"]?.stringValue)
        let id = UUID().uuidString.lowercased()
        let aside = world.stateDir + "/plugins/.aside/" + id
        try FileManager.default.createDirectory(atPath: world.stateDir + "/plugins/.aside", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: installPath, toPath: aside)
        try world.wiring.agentConfig.update { document -> Bool in
            var plugins = document["plugins"]?.objectValue ?? [:]
            var installs = plugins["installs"]?.objectValue ?? [:]
            installs[World.installed.npm] = nil
            plugins["installs"] = .object(installs)
            document["plugins"] = .object(plugins)
            return true
        }
        let store = world.wiring.operations.store
        #expect(try store.begin(OperationRecord(id: id, kind: "uninstall", target: World.installed.npm, requestId: nil), owner: OperationOwner(pid: 999_999, token: "gone")) == .started)
        try store.update(id: id, phase: "removing", progress: 0.5, logTail: [], checkpoint: [
            "step": "moved", "installPath": .string(installPath), "aside": .string(aside), "wasEnabled": true,
        ])
        try world.wiring.operations.recoverInterrupted(using: ["uninstall": InstallRecovery(service: install)])
        let recorded = try #require(try store.get(id))
        #expect(recorded.state == .succeeded)
        #expect(recorded.result?["ok"] == true && recorded.result?["requiresRestart"] == true)
        #expect(recorded.result?["warnings"]?.arrayValue?.count == 1)
        #expect(!FileManager.default.fileExists(atPath: aside))
    }

    /// The installed list shows what the runtime says now (the fake agent host has the installed plugin loaded)
    /// over an older recorded verdict that says it failed; while a restart is pending, the runtime's status may not
    /// be about this version yet, so the recorded verdict shows.
    @Test func installedListPrefersTheLiveStatus() throws {
        let versions = PluginVersionStore(db: world.wiring.database)
        try versions.recordVerdict(name: World.installed.npm, version: World.installed.version, loaded: false, error: "missing API key")
        let live = try #require(try install.installed().plugins.first { $0.name == World.installed.npm })
        #expect(live.loaded == true && live.loadError == nil)
        // A package the runtime does not list keeps no verdict either way.
        #expect(try install.installed().plugins.first { $0.name == World.ejectable.npm }?.loaded == nil)
        try reasons.add("\(World.installed.npm) was enabled")
        let pending = try #require(try install.installed().plugins.first { $0.name == World.installed.npm })
        #expect(pending.loaded == false && pending.loadError == "missing API key")
    }

    /// An operation of a dead plugind, with the installed plugin's tree set aside and a new one in its place.
    func interruptedInstall(step: String, version: String) throws -> (String, String, String) {
        let installPath = try #require(record(World.installed.npm)?["installPath"]?.stringValue)
        let id = UUID().uuidString.lowercased()
        let aside = world.stateDir + "/plugins/.aside/" + id
        try FileManager.default.createDirectory(atPath: world.stateDir + "/plugins/.aside", withIntermediateDirectories: true)
        try "old".write(toFile: installPath + "/marker", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: installPath, toPath: aside)
        try FileManager.default.createDirectory(atPath: installPath, withIntermediateDirectories: true)
        try "new".write(toFile: installPath + "/marker", atomically: true, encoding: .utf8)
        let store = world.wiring.operations.store
        #expect(try store.begin(OperationRecord(id: id, kind: "install", target: World.installed.npm, requestId: nil), owner: OperationOwner(pid: 999_999, token: "gone")) == .started)
        try store.update(id: id, phase: "activating", progress: 0.9, logTail: [], checkpoint: [
            "step": .string(step), "installPath": .string(installPath), "aside": .string(aside), "version": .string(version), "hadPrevious": true,
        ])
        return (id, installPath, aside)
    }
}
