import Foundation
import JSON
import TestWorld
import Testing

/// Eject, sync and reinject with a real git upstream on disk, in-process.
@Suite struct EjectRouteTests {
    let world: World
    init() throws { world = try World() }

    var copy: String { world.stateDir + "/plugins/ejected/_elizaos_plugin-acp" }

    /// Eject checks out the installed version's tag and lists the copy; ejecting again is 409.
    @Test func ejectAndList() throws {
        let answer = world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 200)
        #expect(answer.json["checkedOut"]?.stringValue?.contains("v\(World.ejectable.version)") == true)
        #expect(FileManager.default.fileExists(atPath: copy + "/.upstream.json"))
        let list = world.check("GET /plugins/ejected", "/plugins/ejected", 200, token: .read)
        #expect(list.json["plugins"]?.arrayValue?.first?["name"]?.stringValue == World.ejectable.npm)
        world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 409)
    }

    /// Unknown (404), ambiguous (409) and without a repository anywhere (422): nothing is left behind.
    @Test func ejectRefusals() {
        world.check("POST /plugins/:id/eject", "/plugins/no-such-plugin/eject", 404)
        world.check("POST /plugins/:id/eject", "/plugins/twin/eject", 409)
        // Installed, but its repository does not exist under the git base: the clone fails.
        world.check("POST /plugins/:id/eject", "/plugins/\(World.installed.id)/eject", 502)
        #expect(!FileManager.default.fileExists(atPath: world.stateDir + "/plugins/ejected/_elizaos_plugin-anthropic"))
    }

    /// A plugin whose code is absent has no version to eject at: 409, before anything is cloned.
    @Test func ejectWithoutCodeIs409() {
        world.check("POST /plugins/:id/eject", "/plugins/browser/eject", 409)
    }

    /// A repository whose package.json names another package is refused (422) and nothing is left behind.
    @Test func ejectOfAHijackedRepositoryIs422() throws {
        let repo = world.base + "/git/" + World.ejectable.repo
        try #"{"name":"@elizaos/plugin-other","version":"9.9.9"}"#.write(toFile: repo + "/package.json", atomically: true, encoding: .utf8)
        try World.run("/usr/bin/git", ["-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qam", "hijack"], in: repo)
        try World.run("/usr/bin/git", ["tag", "-f", "v" + World.ejectable.version], in: repo)
        world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 422)
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    /// Sync fetches and rebuilds; a plugin that is not ejected is 404; a sync whose upstream now names another
    /// package is 422 and the copy stays where it was.
    @Test func sync() throws {
        world.check("POST /plugins/:id/sync", "/plugins/\(World.ejectable.id)/sync", 404)
        world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 200)
        let synced = world.check("POST /plugins/:id/sync", "/plugins/\(World.ejectable.id)/sync", 200, json: ["pull": true])
        #expect(synced.json["upstreamCommits"] == 0)
        world.check("POST /plugins/:id/sync", "/plugins/twin/sync", 409)
        let repo = world.base + "/git/" + World.ejectable.repo
        try #"{"name":"@elizaos/plugin-other","version":"9.9.9"}"#.write(toFile: repo + "/package.json", atomically: true, encoding: .utf8)
        try World.run("/usr/bin/git", ["-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qam", "rename"], in: repo)
        let head = try String(contentsOfFile: copy + "/.git/HEAD", encoding: .utf8)
        world.check("POST /plugins/:id/sync", "/plugins/\(World.ejectable.id)/sync", 422, json: ["pull": true])
        #expect(try String(contentsOfFile: copy + "/.git/HEAD", encoding: .utf8) == head)
        world.check("POST /plugins/:id/sync", "/plugins/\(World.ejectable.id)/sync", 400, json: ["pull": "yes"])
    }

    /// Reinject archives the copy; with local edits it is 409 unless forced; a plugin not ejected is 404.
    @Test func reinject() throws {
        world.check("POST /plugins/:id/reinject", "/plugins/\(World.ejectable.id)/reinject", 404)
        world.check("POST /plugins/:id/eject", "/plugins/\(World.ejectable.id)/eject", 200)
        try "edited\n".write(toFile: copy + "/index.js", atomically: true, encoding: .utf8)
        world.check("POST /plugins/:id/reinject", "/plugins/\(World.ejectable.id)/reinject", 409)
        #expect(FileManager.default.fileExists(atPath: copy))
        let answer = world.check("POST /plugins/:id/reinject", "/plugins/\(World.ejectable.id)/reinject", 200, json: ["force": true])
        let archived = try #require(answer.json["archivedTo"]?.stringValue)
        #expect(try String(contentsOfFile: archived + "/index.js", encoding: .utf8) == "edited\n")
        #expect(!FileManager.default.fileExists(atPath: copy))
    }
}
