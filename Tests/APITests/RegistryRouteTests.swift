import Foundation
import JSON
import TestWorld
import Testing

/// The plugin registry (the real snapshot, served on loopback) and the agent registry (its reference fake).
@Suite struct RegistryRouteTests {
    let world: World
    init() throws { world = try World() }

    /// A page of entries, and 304 for the same page unchanged.
    @Test func list() {
        let answer = world.check("GET /registry/plugins", "/registry/plugins?limit=5", 200, token: .read)
        #expect(answer.json["plugins"]?.arrayValue?.count == 5)
        world.check("GET /registry/plugins", "/registry/plugins?limit=5", 304, token: .read, headers: ["if-none-match": answer.header("ETag") ?? ""])
        #expect(world.send("GET", "/registry/plugins?limit=-1", token: .read).status == 400)
    }

    /// One entry by npm name (scoped names need no escaping); unknown is 404, an ambiguous short name 409.
    @Test func details() {
        let answer = world.check("GET /registry/plugins/*name", "/registry/plugins/\(World.ejectable.npm)", 200, token: .read)
        #expect(answer.text.contains(World.ejectable.repo))
        world.check("GET /registry/plugins/*name", "/registry/plugins/\(World.ejectable.npm)", 304, token: .read, headers: ["if-none-match": answer.header("ETag") ?? ""])
        world.check("GET /registry/plugins/*name", "/registry/plugins/@nobody/plugin-nothing", 404, token: .read)
        let twin = world.check("GET /registry/plugins/*name", "/registry/plugins/twin", 409, token: .read)
        #expect(twin.json["candidates"]?.arrayValue?.count == 2)
    }

    /// Search ranks the exact name first; an empty query is refused.
    @Test func search() {
        let answer = world.check("GET /registry/search", "/registry/search?q=acp", 200, token: .read)
        #expect(answer.json["results"]?.arrayValue?.first?["name"]?.stringValue == World.ejectable.npm)
        #expect(world.send("GET", "/registry/search", token: .read).status == 400)
    }

    /// A refresh fetches the document; an operation id already used is 409.
    @Test func refresh() throws {
        world.check("POST /registry/refresh", "/registry/refresh", 200)
        let id = UUID().uuidString.lowercased()
        _ = try world.wiring.operations.run(kind: "test", target: "t", operationId: id) { _ in nil }
        world.check("POST /registry/refresh", "/registry/refresh", 409, headers: ["x-operation-id": id])
    }

    /// Registering with the agent registry, changing the public URI, sending a heartbeat, and reading it all back;
    /// the secret the registry issued is never shown.
    @Test func agentRegistry() {
        world.check("POST /registry/sync", "/registry/sync", 409)
        let config = world.check("GET /registry/config", "/registry/config", 200, token: .read)
        #expect(config.json["publicUri"] == "https://agent.example.com")
        let registered = world.check("POST /registry/register", "/registry/register", 200)
        let agentId = registered.json["agentId"]?.stringValue
        #expect(agentId != nil)
        world.check("POST /registry/update-uri", "/registry/update-uri", 200, json: ["uri": "https://agent2.example.com"])
        world.check("POST /registry/sync", "/registry/sync", 200)
        let status = world.check("GET /registry/status", "/registry/status", 200, token: .read)
        #expect(status.json["registered"] == true && status.json["agentId"]?.stringValue == agentId)
        for secret in world.agentRegistry.secrets { #expect(!status.text.contains(secret) && !registered.text.contains(secret)) }
        world.check("POST /registry/update-uri", "/registry/update-uri", 400, json: ["uri": "not a url"])
    }

    /// Without a public URI anywhere, registering is 409 and nothing is sent.
    @Test func registerWithoutAURIIs409() throws {
        let world = try World(settings: [("publicUri", "")])
        world.check("POST /registry/register", "/registry/register", 409)
        #expect(world.agentRegistry.registrations.isEmpty)
    }

    /// The runtime's state through the bridge, and a restart asked of it.
    @Test func runtime() {
        let state = world.check("GET /runtime", "/runtime", 200, token: .read)
        #expect(state.text.contains("running"))
        world.check("POST /runtime/restart", "/runtime/restart", 200)
    }
}
