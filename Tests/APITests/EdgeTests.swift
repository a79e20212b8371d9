import HTTPKit
import JSON
import TestWorld
import Testing

/// What every route shares at the edge: hostile paths, oversized bodies, HEAD and OPTIONS, request ids, caching.
@Suite struct EdgeTests {
    let world: World
    init() throws { world = try World() }

    /// Path segments that climb or hide a NUL or a control byte are 400 before any route or token is looked at; an
    /// encoded slash stays inside its segment (a scoped npm name), so it only names a plugin that does not exist.
    @Test func hostileSegments() {
        #expect(world.send("GET", "/plugins/a%2fb", token: .read).status == 404)
        #expect(world.send("GET", "/plugins/%40elizaos%2Fplugin-anthropic", token: .read).status == 200)
        for path in ["/plugins/..", "/plugins/%2e%2e", "/plugins/a%00b", "/plugins/a%0Ab", "/plugins/%2E%2E/eject"] {
            let answer = world.send("GET", path, token: .read)
            #expect(answer.status == 400, "\(path) answered \(answer.status)")
            #expect(answer.json["error"]?.stringValue?.isEmpty == false)
        }
    }

    /// A body over the limit is 413 and changes nothing.
    @Test func oversizedBody() {
        let before = world.agentConfig
        let request = HTTPRequest(
            method: .put, uri: "/api/plugins/anthropic", headers: ["authorization": "Bearer " + world.adminToken, "content-type": "application/json"],
            bodyTooLarge: true, origin: World.origin)
        #expect(world.wiring.gatekeeper.respond(to: request).status == 413)
        #expect(world.agentConfig == before)
    }

    /// HEAD answers a GET's headers with no body; OPTIONS names the methods a path answers to.
    @Test func headAndOptions() {
        // The start-up advisories check runs in the background and turns `advisories: null` into a list; once
        // checked here, it (and the background one) can only come to the same answer, so GET and HEAD agree.
        world.wiring.install.recheckAdvisories()
        let get = world.send("GET", "/plugins/installed", token: .read)
        let head = world.send("HEAD", "/plugins/installed", token: .read)
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(head.header("Content-Length") == String(get.body.count))
        let options = world.send("OPTIONS", "/plugins/anthropic", token: .read)
        #expect(options.status == 204)
        #expect(options.header("Allow")?.contains("PUT") == true)
    }

    /// The front end's request id is kept when it is plain hex, replaced when it is not; either way it is returned.
    @Test func requestIds() {
        let id = "0123456789abcdef0123456789abcdef"
        let request = HTTPRequest(method: .get, uri: "/api/health", frontEndRequestId: id)
        #expect(world.wiring.gatekeeper.respond(to: request).header("X-Request-Id") == id)
        let hostile = HTTPRequest(method: .get, uri: "/api/health", frontEndRequestId: "x\ny")
        let answered = world.wiring.gatekeeper.respond(to: hostile).header("X-Request-Id") ?? ""
        #expect(!answered.isEmpty && !answered.contains("\n"))
    }

    /// Answers carry no-store, except a GET with an ETag, which the browser may keep and must revalidate.
    @Test func cacheControl() {
        #expect(world.send("GET", "/plugins", token: .read).header("Cache-Control") == "private, no-cache")
        #expect(world.send("GET", "/session", token: .read).header("Cache-Control") == "no-store")
        #expect(world.send("POST", "/plugins/core/toggle", json: ["name": "browser", "enabled": true]).header("Cache-Control") == "no-store")
    }

    /// Every error is one JSON object whose `error` is one sentence, typed as JSON.
    @Test func errorBodies() {
        for answer in [
            world.send("GET", "/plugins/no-such-plugin", token: .read), world.send("GET", "/plugins", token: .none),
            world.send("POST", "/plugins/install", token: .read, json: ["name": "x"]), world.send("DELETE", "/plugins"),
        ] {
            #expect(answer.header("Content-Type")?.hasPrefix("application/json") == true)
            let message = answer.json["error"]?.stringValue ?? ""
            #expect(message.hasSuffix(".") && !message.contains("\n"), "\(answer.status): \(message)")
        }
    }
}
