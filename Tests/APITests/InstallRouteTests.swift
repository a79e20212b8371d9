import Foundation
import JSON
import TestWorld
import Testing

/// Installing and uninstalling npm packages, in-process, with a loopback npm registry serving a real tarball.
@Suite struct InstallRouteTests {
    let world: World
    init() throws { world = try World() }

    /// The installed list names what the agent config records.
    @Test func installedList() {
        let answer = world.check("GET /plugins/installed", "/plugins/installed", 200, token: .read)
        let names = answer.json.text
        #expect(names.contains(World.installed.npm))
    }

    /// A published package is downloaded, verified and installed with npm; the agent config records it.
    @Test func installsAPublishedPackage() throws {
        let answer = world.check("POST /plugins/install", "/plugins/install", 200, json: ["name": .string(World.published.npm)])
        #expect(answer.json["ok"] == true)
        let record = world.agentConfig["plugins"]?["installs"]?[World.published.npm]
        #expect(record?["version"]?.stringValue == World.published.version)
        let path = try #require(record?["installPath"]?.stringValue)
        #expect(FileManager.default.fileExists(atPath: path + "/node_modules/" + World.published.npm + "/index.js"))
    }

    /// Nothing is installed when the registry has no such package (404), no version fits (422), or the name is
    /// not a package name (400); the agent config stays as it was.
    @Test func installRefusals() {
        let before = world.agentConfig
        world.check("POST /plugins/install", "/plugins/install", 404, json: ["name": "@acme/plugin-nowhere"])
        world.check("POST /plugins/install", "/plugins/install", 422, json: ["name": .string(World.published.npm), "version": "^9.0.0"])
        world.check("POST /plugins/install", "/plugins/install", 400, json: ["name": "../etc/passwd"])
        #expect(world.agentConfig == before)
    }

    /// An empty name is called empty, and a bad name in an uninstall is not said to be uninstallable "installed".
    @Test func nameErrorsSayWhatIsWrong() {
        let empty = world.check("POST /plugins/install", "/plugins/install", 400, json: ["name": ""])
        #expect(empty.json["error"]?.stringValue?.hasPrefix("name must not be empty") == true)
        let bad = world.check("POST /plugins/uninstall", "/plugins/uninstall", 400, json: ["name": "../etc/passwd"])
        #expect(bad.json["error"]?.stringValue?.contains("cannot be uninstalled") == true)
    }

    /// An operation id already used is 409 and nothing runs.
    @Test func installWithATakenOperationId() throws {
        let id = UUID().uuidString.lowercased()
        _ = try world.wiring.operations.run(kind: "test", target: "t", operationId: id) { _ in nil }
        world.check("POST /plugins/install", "/plugins/install", 409, json: ["name": .string(World.published.npm)], headers: ["x-operation-id": id])
        #expect(world.agentConfig["plugins"]?["installs"]?[World.published.npm] == nil)
    }

    /// Uninstalling removes the record and the tree; an unknown package is 404; an ejected one 409.
    @Test func uninstall() throws {
        let path = try #require(world.agentConfig["plugins"]?["installs"]?[World.installed.npm]?["installPath"]?.stringValue)
        world.check("POST /plugins/uninstall", "/plugins/uninstall", 200, json: ["name": .string(World.installed.npm)])
        #expect(world.agentConfig["plugins"]?["installs"]?[World.installed.npm] == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
        world.check("POST /plugins/uninstall", "/plugins/uninstall", 404, json: ["name": "@acme/plugin-nowhere"])
        world.check("POST /plugins/uninstall", "/plugins/uninstall", 200, json: ["name": .string(World.ejectable.npm)])
    }

    /// A plugin with an ejected copy is not uninstalled: reinject it first.
    @Test func uninstallOfAnEjectedPluginIs409() {
        world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 200)
        let before = world.agentConfig
        world.check("POST /plugins/uninstall", "/plugins/uninstall", 409, json: ["name": .string(World.ejectable.npm)])
        #expect(world.agentConfig == before)
    }

    /// An upgrade keeps the version it replaced, and the installed list names it; a rollback puts it back and keeps the
    /// version it replaced in turn, so a second rollback undoes the first. Without a runtime nobody waits: `loaded` is
    /// null and there are no warnings.
    @Test func upgradeKeepsThePreviousVersionAndRollbackPutsItBack() throws {
        let fixture = JSONValue.string(World.published.npm)
        let path = "/plugins/%40acme%2Fplugin-api-fixture/rollback"
        world.check("POST /plugins/install", "/plugins/install", 200, json: ["name": fixture, "version": "0.9.0"])
        // A first install keeps nothing: there is nothing to roll back to.
        #expect(world.check("POST /plugins/:id/rollback", path, 409).error.contains("No previous version"))
        let upgrade = world.check("POST /plugins/install", "/plugins/install", 200, json: ["name": fixture])
        #expect(upgrade.json["plugin"]?["version"]?.stringValue == World.published.version)
        #expect(upgrade.json["loaded"] == .null && upgrade.json["loadError"] == .null && upgrade.json["warnings"] == .array([]))
        #expect(installedRow(World.published.npm)?["previousVersion"]?.stringValue == "0.9.0")

        let back = world.check("POST /plugins/:id/rollback", path, 200)
        #expect(back.json["plugin"]?["version"]?.stringValue == "0.9.0" && back.json["replacedVersion"]?.stringValue == World.published.version)
        #expect(back.json["loaded"] == .null && back.json["warnings"] == .array([]))
        let record = try #require(world.agentConfig["plugins"]?["installs"]?[World.published.npm])
        #expect(record["version"]?.stringValue == "0.9.0")
        let installPath = try #require(record["installPath"]?.stringValue)
        let manifest = try String(contentsOfFile: installPath + "/node_modules/\(World.published.npm)/package.json", encoding: .utf8)
        #expect(manifest.contains("\"0.9.0\""))
        #expect(installedRow(World.published.npm)?["version"]?.stringValue == "0.9.0")
        #expect(installedRow(World.published.npm)?["previousVersion"]?.stringValue == World.published.version)

        world.check("POST /plugins/:id/rollback", path, 200)
        #expect(world.agentConfig["plugins"]?["installs"]?[World.published.npm]?["version"]?.stringValue == World.published.version)
        let operations = try world.wiring.operations.store.list(target: World.published.npm)
        #expect(operations.filter { $0.kind == "rollback" && $0.state == .succeeded }.count == 2)
    }

    /// An unknown plugin is 404; one installed without a kept version, or running from an ejected copy, is 409 and
    /// nothing changes.
    @Test func rollbackRefusals() {
        world.check("POST /plugins/:id/rollback", "/plugins/no-such-plugin-anywhere/rollback", 404)
        let before = world.agentConfig
        #expect(world.check("POST /plugins/:id/rollback", "/plugins/\(World.installed.id)/rollback", 409).error.contains("No previous version"))
        world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 200)
        let ejected = world.agentConfig
        #expect(world.check("POST /plugins/:id/rollback", "/plugins/\(World.ejectable.id)/rollback", 409).error.contains("ejected"))
        #expect(world.agentConfig == ejected && before["plugins"]?["installs"] == ejected["plugins"]?["installs"])
    }

    /// `rollbackOnFailure`, `force` and `autoRestart` must be booleans; a 400 names the field and changes nothing.
    @Test func flagsMustBeBooleans() {
        let before = world.agentConfig
        for (field, value) in [("rollbackOnFailure", JSONValue.string("no")), ("force", "yes"), ("force", 1), ("autoRestart", "false")] {
            let answer = world.check("POST /plugins/install", "/plugins/install", 400, json: ["name": .string(World.published.npm), field: value])
            #expect(answer.error.contains(field))
        }
        let uninstall = world.check("POST /plugins/uninstall", "/plugins/uninstall", 400, json: ["name": .string(World.installed.npm), "autoRestart": 0])
        #expect(uninstall.error.contains("autoRestart"))
        #expect(world.agentConfig == before)
        #expect(world.agentConfig["plugins"]?["installs"]?[World.published.npm] == nil)
    }

    func installedRow(_ name: String) -> JSONValue? {
        world.check("GET /plugins/installed", "/plugins/installed", 200, token: .read).json["plugins"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }
}

