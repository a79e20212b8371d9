import Foundation
import JSON
import Logging
import Plugins
import Stores
import Synchronization
import TestSupport
import Testing
@testable import Runtime

func json(_ value: JSONValue, status: Int = 200) -> LoopbackServer.Reply {
    .respond(status: status, headers: [("Content-Type", "application/json")], body: JSONWriter.compactBytes(value))
}

let healthyStatus: JSONValue = [
    "protocol": 1, "state": "running", "pid": 4242, "startedAt": "2026-01-01T00:00:00.000Z",
    "plugins": [
        ["package": "@elizaos/plugin-good", "pluginName": "good", "source": "installed", "path": "/x", "loaded": true, "error": nil],
        ["package": "@elizaos/plugin-bad", "pluginName": nil, "source": "installed", "path": "/y", "loaded": false, "error": "boom"],
    ],
]

@Suite struct RuntimeBridgeClientTests {
    /// Status, check and restart round-trip over a unix socket, with the protocol header sent.
    @Test func roundTripOverUnixSocket() throws {
        let path = NSTemporaryDirectory() + "bridge-\(UUID().uuidString.prefix(8)).sock"
        let seen = Mutex<[String]>([])
        let server = try LoopbackServer(unixSocketPath: path) { request in
            seen.withLock { $0.append("\(request.method) \(request.path) \(request.header("X-Bridge-Protocol") ?? "-")") }
            switch request.path {
            case "/v1/status": return json(healthyStatus)
            case "/v1/plugins/check": return json(["ok": false, "message": "bad key", "durationMs": 12, "details": ["code": 401]])
            case "/v1/restart": return json(["ok": true, "state": "starting"], status: 202)
            default: return json(["error": "no", "code": "not_found"], status: 404)
            }
        }
        defer { server.stop() }
        let client = RuntimeBridgeClient(endpoint: "unix:" + path, callTimeoutMs: 1000, checkTimeoutMs: 1000)
        let status = try client.status()
        #expect(status.state == "running" && status.pid == 4242)
        #expect(status.plugin("@elizaos/plugin-good")?.loaded == true)
        #expect(status.plugin("@elizaos/plugin-bad")?.error == "boom")
        #expect(status.plugin("plugin-good") == nil)  // exact names only
        let check = try client.check(package: "@elizaos/plugin-good")
        #expect(!check.ok && check.message == "bad key" && check.durationMs == 12 && check.details?["code"] == .number(401))
        try client.restart(reasons: ["x"])
        #expect(seen.withLock { $0 } == ["GET /v1/status 1", "POST /v1/plugins/check 1", "POST /v1/restart 1"])
    }

    /// A runtime that never answers costs at most the call timeout, and reads as unreachable.
    @Test func silentRuntimeIsBounded() throws {
        let server = try LoopbackServer { _ in .stall() }
        defer { server.stop() }
        let client = RuntimeBridgeClient(endpoint: server.baseURL, callTimeoutMs: 300, checkTimeoutMs: 300)
        let started = ContinuousClock.now
        #expect(throws: RuntimeError.self) { try client.status() }
        #expect(started.duration(to: .now) < .seconds(3))
        #expect(throws: RuntimeError.timedOut(300)) { try client.check(package: "x") }
    }

    /// Garbage and wrong shapes are protocol errors, not crashes; nothing listening is unreachable.
    @Test func garbageAndNothing() throws {
        let server = try LoopbackServer { request in
            request.path == "/v1/status" ? .respond(status: 200, body: Array("<html>".utf8)) : json(["ok": "yes"])
        }
        defer { server.stop() }
        let client = RuntimeBridgeClient(endpoint: server.baseURL, callTimeoutMs: 500, checkTimeoutMs: 500)
        #expect(throws: RuntimeError.self) { try client.status() }
        #expect(throws: RuntimeError.protocolError("the check answer has no 'ok'")) { try client.check(package: "x") }
        let nowhere = RuntimeBridgeClient(endpoint: "unix:/nonexistent/bridge.sock", callTimeoutMs: 500, checkTimeoutMs: 500)
        do {
            _ = try nowhere.status()
            Issue.record("expected unreachable")
        } catch {
            guard case .unreachable = error else { Issue.record("\(error)"); return }
        }
    }

    /// The bridge's 409 and 504 keep their meaning.
    @Test func notLoadedAndTimeout() throws {
        let server = try LoopbackServer { request in
            request.body.count > 0 && String(decoding: request.body, as: UTF8.self).contains("slow")
                ? json(["error": "check timed out", "code": "timeout"], status: 504)
                : json(["error": "not loaded", "code": "not_loaded"], status: 409)
        }
        defer { server.stop() }
        let client = RuntimeBridgeClient(endpoint: server.baseURL, callTimeoutMs: 500, checkTimeoutMs: 700)
        #expect(throws: RuntimeError.notLoaded("x")) { try client.check(package: "x") }
        #expect(throws: RuntimeError.timedOut(700)) { try client.check(package: "slow") }
    }

    /// The status is cached for about a second: many reads, one bridge call.
    @Test func statusIsCached() throws {
        let calls = Mutex(0)
        let server = try LoopbackServer { _ in
            calls.withLock { $0 += 1 }
            return json(healthyStatus)
        }
        defer { server.stop() }
        let runtime = BridgeRuntime(client: RuntimeBridgeClient(endpoint: server.baseURL, callTimeoutMs: 500, checkTimeoutMs: 500), freshFor: .seconds(5))
        for _ in 0..<20 { #expect(runtime.snapshot()?.state == "running") }
        #expect(calls.withLock { $0 } == 1)
        runtime.invalidate()
        _ = runtime.snapshot()
        #expect(calls.withLock { $0 } == 2)
    }
}

@Suite struct RestartSchedulerTests {
    /// Several reasons in a row cost one restart, sent after the quiet period; they clear once the runtime runs again.
    @Test func debounceAndClear() throws {
        let restarts = Mutex<[[String]]>([])
        let server = try LoopbackServer { request in
            if request.path == "/v1/restart" {
                let reasons = (try? JSONParser.parse(request.body))?["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
                restarts.withLock { $0.append(reasons) }
                return json(["ok": true, "state": "starting"], status: 202)
            }
            return json(healthyStatus)
        }
        defer { server.stop() }
        let dir = NSTemporaryDirectory() + "sched-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let reasons = RestartReasonStore(db: try StateDB(path: dir + "/state.db"))
        let runtime = BridgeRuntime(client: RuntimeBridgeClient(endpoint: server.baseURL, callTimeoutMs: 500, checkTimeoutMs: 500))
        let scheduler = RestartScheduler(reasons: reasons, runtime: runtime, debounce: .milliseconds(300), automatic: true,
                                         logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        for i in 0..<5 {
            try reasons.add("change \(i)")
            scheduler.tick()
            usleep(50_000)
        }
        #expect(restarts.withLock { $0.count } == 0)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, (try reasons.all()).count > 0 {
            scheduler.tick()
            usleep(50_000)
        }
        #expect(restarts.withLock { $0 } == [(0..<5).map { "change \($0)" }])
        #expect(try reasons.all().isEmpty)
        #expect(scheduler.lastRestartAt != nil)
    }
}
