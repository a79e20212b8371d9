import Foundation
import HTTPKit
import JSON
import Stores
import TestWorld
import Testing

/// GET /api/audit in-process: the entries changing requests leave, as the trail's reader sees them.
@Suite struct AuditRouteTests {
    /// Each changing request that passed the gates leaves exactly one entry with its token's id and label, its
    /// request id, route, target, status and the names it changed; no value; refused requests leave none.
    @Test func entriesOfChangingRequests() throws {
        let world = try World()
        let labelled = try TokenStore(path: world.stateDir + "/tokens.json").create(role: .admin, label: "ci")
        let tokenId = try #require(TokenStore(path: world.stateDir + "/tokens.json").identity(of: labelled)?.id)
        let secret = "sk-ant-audit-secret-value-1234567890"
        let put = world.send("PUT", "/plugins/\(World.installed.id)", token: .raw("Bearer " + labelled), json: ["config": ["ANTHROPIC_API_KEY": .string(secret)], "enabled": false])
        #expect(put.status == 200)
        let invalid = world.send("PUT", "/plugins/\(World.installed.id)", token: .raw("Bearer " + labelled), json: ["config": ["ANTHROPIC_API_KEY": ["x"]]])
        #expect(invalid.status == 422)
        // Refused at the gates: not audited.
        #expect(world.send("PUT", "/plugins/\(World.installed.id)", token: .read, json: ["enabled": true]).status == 403)
        #expect(world.send("PUT", "/plugins/\(World.installed.id)", token: .none, json: ["enabled": true]).status == 401)
        #expect(world.send("PUT", "/plugins/\(World.installed.id)", json: ["unknown": true]).status == 400)

        let answer = world.check("GET /audit", "/audit", 200)
        #expect(!answer.text.contains(secret))
        let entries = try #require(answer.json["entries"]?.arrayValue)
        #expect(entries.count == 2)
        #expect(answer.json["nextCursor"] == .null)
        let (rejected, changed) = (entries[0], entries[1])
        #expect(changed["requestId"]?.stringValue == put.header("X-Request-Id"))
        #expect(rejected["requestId"]?.stringValue == invalid.header("X-Request-Id"))
        #expect(changed["tokenId"]?.stringValue == tokenId && changed["tokenLabel"]?.stringValue == "ci" && changed["role"]?.stringValue == "admin")
        #expect(changed["method"]?.stringValue == "PUT" && changed["route"]?.stringValue == "/api/plugins/:id")
        #expect(changed["target"]?.stringValue == World.installed.npm && changed["status"]?.intValue == 200)
        #expect(JSONWriter.compact(changed["changes"] ?? .null) == #"""
            [{"plugin":"\#(World.installed.npm)","kind":"setting","name":"ANTHROPIC_API_KEY","action":"set"},\#
            {"plugin":"\#(World.installed.npm)","kind":"enabled","from":true,"to":false}]
            """#)
        #expect(rejected["status"]?.intValue == 422 && rejected["changes"]?.arrayValue?.isEmpty == true)
        #expect(changed["operationId"] == .null && changed["outcome"] == .null)

        // The plugin filter knows a plugin by its id or npm name; limit and cursor page through.
        #expect(world.send("GET", "/audit?plugin=\(World.installed.id)").json["entries"]?.arrayValue?.count == 2)
        #expect(world.send("GET", "/audit?plugin=nothing-here").json["entries"]?.arrayValue?.isEmpty == true)
        let first = world.send("GET", "/audit?limit=1").json
        let cursor = try #require(first["nextCursor"]?.stringValue)
        let second = world.send("GET", "/audit?limit=1&cursor=\(cursor)").json
        #expect(second["entries"]?.arrayValue?.first?["requestId"] == changed["requestId"] && second["nextCursor"] == .null)
        #expect(world.send("GET", "/audit?until=2000-01-01T00:00:00Z").json["entries"]?.arrayValue?.isEmpty == true)
        #expect(world.send("GET", "/audit?since=2000-01-01T00:00:00.5%2B01:00").json["entries"]?.arrayValue?.count == 2)
    }

    /// A read token may not read the trail; a bad parameter is a 400 naming it.
    @Test func refusals() throws {
        let world = try World()
        world.check("GET /audit", "/audit", 403, token: .read)
        for (query, name) in [("limit=0", "limit"), ("limit=x", "limit"), ("since=yesterday", "since"), ("until=2026-13-01T00:00:00Z", "until"), ("cursor=abc", "cursor")] {
            let answer = world.check("GET /audit", "/audit?\(query)", 400)
            #expect(answer.error.contains("'\(name)'"), "\(query): \(answer.error)")
        }
    }

    /// An install leaves one entry with its operation, its outcome and the version it put in place.
    @Test func installEntry() throws {
        let world = try World()
        #expect(world.send("POST", "/plugins/install", json: ["name": .string(World.published.npm)]).status == 200)
        let entry = try #require(world.send("GET", "/audit").json["entries"]?.arrayValue?.first)
        #expect(entry["route"]?.stringValue == "/api/plugins/install" && entry["target"]?.stringValue == World.published.npm)
        #expect(entry["operationId"]?.stringValue != nil && entry["outcome"]?.stringValue == "succeeded")
        let changes = entry["changes"]?.arrayValue ?? []
        #expect(changes.contains { $0["kind"]?.stringValue == "version" && $0["to"]?.stringValue == World.published.version && $0["from"] == .null })
        #expect(changes.contains { $0["kind"]?.stringValue == "enabled" && $0["to"]?.boolValue == true })
    }

    /// An install from Milady's app runs on a thread of its own (answered within clientAnswerWithinMs, else 202):
    /// its entry still gets the operation, its outcome and the version it put in place.
    @Test func installOnAThreadOfItsOwn() throws {
        let world = try World()
        let answer = world.send("POST", "/plugins/install", json: ["name": .string(World.published.npm)], headers: ["x-milady-client-id": "app"])
        #expect(answer.status == 200 || answer.status == 202)
        var entry: JSONValue?
        for _ in 0..<600 {
            entry = world.send("GET", "/audit").json["entries"]?.arrayValue?.first
            if entry?["outcome"]?.stringValue != "running" { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(entry?["requestId"]?.stringValue == answer.header("X-Request-Id") && entry?["status"]?.intValue == answer.status)
        #expect(entry?["operationId"]?.stringValue != nil && entry?["outcome"]?.stringValue == "succeeded")
        #expect((entry?["changes"]?.arrayValue ?? []).contains { $0["kind"]?.stringValue == "version" && $0["to"]?.stringValue == World.published.version })
    }
}
