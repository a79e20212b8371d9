import Foundation
import JSON
import TestWorld
import Testing

/// The manifest routes in-process: export, plan and apply over the world's agent and loopback npm registry.
@Suite struct ManifestRouteTests {
    let world: World
    init() throws { world = try World() }

    func export() throws -> JSONValue {
        try JSONParser.parse(world.check("GET /manifest", "/manifest", 200, token: .read).body)
    }

    /// The export is byte-stable (two reads, the same bytes) and ends with a newline.
    @Test func exportIsStable() {
        let first = world.check("GET /manifest", "/manifest", 200, token: .read)
        let second = world.check("GET /manifest", "/manifest", 200, token: .read)
        #expect(first.body == second.body)
        #expect(first.body.last == UInt8(ascii: "\n"))
        #expect(first.text.contains("\"manifestVersion\": 1"))
    }

    /// The agent's own export plans nothing and applies as a no-op without a restart.
    @Test func ownExportIsANoOp() throws {
        let manifest = try export()
        let before = world.agentConfig
        let plan = world.check("POST /manifest/plan", "/manifest/plan", 200, json: manifest)
        #expect(plan.json["changes"] == .array([]))
        let applied = world.check("POST /manifest/apply", "/manifest/apply", 200, json: manifest)
        #expect(applied.json["requiresRestart"] == false)
        #expect(world.agentConfig == before)
    }

    /// A value for a sensitive key is a 422 (plan and apply alike), and changes nothing.
    @Test func secretValuesAre422() throws {
        let before = world.agentConfig
        let manifest: JSONValue = ["manifestVersion": 1, "settings": ["SOME_API_KEY": "sk-plain-text"]]
        world.check("POST /manifest/plan", "/manifest/plan", 422, json: manifest)
        world.check("POST /manifest/apply", "/manifest/apply", 422, json: manifest)
        world.check("POST /manifest/plan", "/manifest/plan", 400, json: ["manifestVersion": 3])
        #expect(world.agentConfig == before)
    }

    /// A tree the registry does not serve is a 409 naming the step; a package it does not have a 404; nothing changes.
    @Test func applyRefusals() throws {
        let before = world.agentConfig
        var manifest = try export().objectValue!
        var packages = manifest["packages"]?.objectValue ?? JSONObject()
        let name = World.published.npm
        packages[name] = ["version": .string(World.published.version), "tree": .strings(["\(name)@\(World.published.version)@sha512-AAAA"])]
        manifest["packages"] = .object(packages)
        let conflict = world.check("POST /manifest/apply", "/manifest/apply", 409, json: .object(manifest))
        #expect(conflict.json["failedStep"] == .string("install \(name)@\(World.published.version)"))
        packages[name] = nil
        packages["@acme/plugin-nowhere"] = ["version": "1.0.0"]
        manifest["packages"] = .object(packages)
        world.check("POST /manifest/apply", "/manifest/apply", 404, json: .object(manifest))
        #expect(world.agentConfig == before)
    }
}
