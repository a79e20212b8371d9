import Foundation
import JSON
import Plugins
import Stores
import Synchronization
import TestSupport
import Testing
@testable import Runtime

/// The exact bytes GET /api/runtime answers and the bridge is sent.
@Suite struct RuntimeWireTests {
    struct FixedRuntime: RuntimeView {
        let attached: Bool
        let current: RuntimeSnapshot?
        func snapshot() -> RuntimeSnapshot? { current }
        func check(package: String) throws(RuntimeError) -> PluginCheckResult { throw .notAttached }
    }

    func reasons() throws -> RestartReasonStore {
        let dir = NSTemporaryDirectory() + "runtime-wire-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return RestartReasonStore(db: try StateDB(path: dir + "/state.db"))
    }

    @Test func stateBytes() throws {
        let store = try reasons()
        let none = RuntimeService(runtime: FixedRuntime(attached: false, current: nil), scheduler: nil, reasons: store)
        #expect(try wireText(none.state()) ==
            #"{"attached":false,"state":null,"pid":null,"startedAt":null,"loadedPlugins":null,"failedPlugins":[],"pendingRestart":false,"pendingRestartReasons":[],"lastRestartAt":null}"#)
        let down = RuntimeService(runtime: FixedRuntime(attached: true, current: nil), scheduler: nil, reasons: store)
        #expect(try wireText(down.state()) ==
            #"{"attached":true,"state":"unreachable","pid":null,"startedAt":null,"loadedPlugins":null,"failedPlugins":[],"pendingRestart":false,"pendingRestartReasons":[],"lastRestartAt":null}"#)
        try store.add("a \"quoted\" reason")
        try store.add("another")
        let snapshot = RuntimeSnapshot(state: "running", pid: 4242, startedAt: "2026-01-01T00:00:00.000Z", plugins: [])
        let up = RuntimeService(runtime: FixedRuntime(attached: true, current: snapshot), scheduler: nil, reasons: store)
        #expect(try wireText(up.state()) ==
            #"{"attached":true,"state":"running","pid":4242,"startedAt":"2026-01-01T00:00:00.000Z","loadedPlugins":0,"failedPlugins":[],"pendingRestart":true,"#
            + #""pendingRestartReasons":["a \"quoted\" reason","another"],"lastRestartAt":null}"#)
    }

    /// A running agent whose plugins failed to load says how many and which (the dashboard's warning); a plugin
    /// still loading (no error yet) is neither.
    @Test func failedPluginsAreCounted() throws {
        let snapshot = RuntimeSnapshot(state: "running", plugins: [
            .init(package: "@a/plugin-ok", loaded: true, error: nil),
            .init(package: "@a/plugin-absent", loaded: false, error: "not installed"),
            .init(package: "@a/plugin-broken", loaded: false, error: "init threw"),
            .init(package: "@a/plugin-loading", loaded: false, error: nil),
        ])
        let state = try RuntimeService(runtime: FixedRuntime(attached: true, current: snapshot), scheduler: nil, reasons: reasons()).state()
        #expect(state.loadedPlugins == 1)
        #expect(state.failedPlugins == ["@a/plugin-absent", "@a/plugin-broken"])
    }

    @Test func bridgeRequestBytes() throws {
        let bodies = Mutex<[String]>([])
        let server = try LoopbackServer { request in
            bodies.withLock { $0.append("\(request.path) \(String(decoding: request.body, as: UTF8.self))") }
            return request.path == "/v1/restart" ? json(["ok": true], status: 202) : json(["ok": true, "message": "fine"])
        }
        defer { server.stop() }
        let client = RuntimeBridgeClient(endpoint: server.baseURL, callTimeoutMs: 1000, checkTimeoutMs: 1500)
        _ = try client.check(package: "@acme/plugin-x")
        try client.restart(reasons: ["one", "two"])
        try client.restart(reasons: [])
        #expect(bodies.withLock { $0 } == [
            #"/v1/plugins/check {"package":"@acme/plugin-x","timeoutMs":1500}"#, #"/v1/restart {"reasons":["one","two"]}"#,
            #"/v1/restart {"reasons":[]}"#,
        ])
    }
}

/// A value as the wire carries it.
func wireText(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoding.bytes(value), as: UTF8.self) }
