import Foundation
import JSON
import Operations
import TestWorld
import Testing

/// Health, session, settings and operations, in-process through the real gatekeeper and route table.
@Suite struct SystemRouteTests {
    let world: World
    init() throws { world = try World() }

    /// Health needs no token and says plugind is usable.
    @Test func health() {
        let answer = world.check("GET /health", "/health", 200, token: .none)
        #expect(answer.json["ok"] == true)
    }

    /// The sign-in hint needs no token and names the command for this plugind's state directory, never a token.
    @Test func signInNamesTheCommandForThisStateDirectory() {
        let answer = world.check("GET /sign-in", "/sign-in", 200, token: .none)
        let command = answer.json["tokenCommand"]?.stringValue ?? ""
        #expect(command.contains(" token create --role admin --state-dir \(world.stateDir)"))
        #expect(!answer.text.contains(world.adminToken))
    }

    /// The session names the token's role, and nothing of the token itself.
    @Test func sessionNamesTheRole() {
        #expect(world.check("GET /session", "/session", 200, token: .read).json["role"] == "read")
        let admin = world.check("GET /session", "/session", 200)
        #expect(admin.json["role"] == "admin")
        #expect(!admin.text.contains(world.adminToken))
    }

    /// The settings are shown with every secret masked.
    @Test func settingsMaskSecrets() throws {
        let world = try World(settings: [("npmRegistryToken", "npm-secret-token-123456")])
        let answer = world.check("GET /settings", "/settings", 200, token: .read)
        #expect(!answer.text.contains("npm-secret-token-123456"))
        #expect(answer.json["settings"]?["stateDir"]?.stringValue == world.stateDir)
        #expect(answer.text.contains("****"))
    }

    /// An operation that ran is listed and can be read by id; an unknown id is 404.
    @Test func operations() throws {
        let record = try world.wiring.operations.run(kind: "test", target: "t") { _ in ["done": true] }
        let list = world.check("GET /operations", "/operations", 200, token: .read)
        #expect(list.json["operations"]?.arrayValue?.first?["id"]?.stringValue == record.id)
        let one = world.check("GET /operations/:id", "/operations/\(record.id)", 200, token: .read)
        #expect(one.json["operation"]?["state"] == "succeeded")
        world.check("GET /operations/:id", "/operations/\(UUID().uuidString.lowercased())", 404, token: .read)
    }

    /// A path no route has is 404; a method a path does not answer to is 405 with Allow.
    @Test func unknownPathsAndMethods() {
        #expect(world.send("GET", "/nothing-here").status == 404)
        let answer = world.send("DELETE", "/health")
        #expect(answer.status == 405)
        #expect(answer.header("Allow") == "GET, HEAD, OPTIONS")
    }
}
