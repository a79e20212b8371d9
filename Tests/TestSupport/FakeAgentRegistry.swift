import Foundation
import JSON
import Synchronization
import TestSupport

/// An agent registry on 127.0.0.1 speaking the protocol of `docs/agent-registry.md` — its reference
/// implementation — that can be told to misbehave.
public final class FakeAgentRegistry: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Answers as the protocol says.
        case normal
        /// Every call answers this status with `{"error": "…"}` (and `Retry-After` when given).
        case failing(Int, retryAfter: Int? = nil)
        /// Every call waits this long, then answers normally.
        case slow(Double)
        /// Every call answers 200 with a body that is not JSON.
        case garbage
        /// Every call answers 200 with a JSON object but a registration without a usable secret.
        case badCredentials
        /// Every call answers this status with an error that repeats the Authorization header and every secret.
        case echoing(Int)
    }

    public struct Agent: Sendable {
        public var secret: String
        public var uri: String
        public var name: String
    }

    public struct Heartbeat: Sendable {
        public let agentId: String
        public let body: JSONValue
        public var name: String? { body["name"]?.stringValue }
    }

    private final class Shared: Sendable {
        let mode = Mutex<Mode>(.normal)
        let agents = Mutex<[String: Agent]>([:])
        let registrations = Mutex<[JSONValue]>([])
        let heartbeats = Mutex<[Heartbeat]>([])
        let uriUpdates = Mutex<[(agentId: String, uri: String)]>([])
        let refusedCalls = Mutex(0)
        let requests = Mutex<[LoopbackServer.Request]>([])
        let counter = Mutex(0)
        let issued = Mutex<[String]>([])
    }

    public let server: LoopbackServer
    private let shared: Shared

    public init() throws {
        let shared = Shared()
        self.shared = shared
        server = try LoopbackServer { request in
            shared.requests.withLock { $0.append(request) }
            return FakeAgentRegistry.answer(request, shared)
        }
    }

    public var url: String { server.baseURL }

    public func set(_ mode: Mode) { shared.mode.withLock { $0 = mode } }
    public func stop() { server.stop() }
    /// The registry loses every agent (a reset database): their next calls answer 404.
    public func forgetAll() { shared.agents.withLock { $0.removeAll() } }

    public var registrations: [JSONValue] { shared.registrations.withLock { $0 } }
    public var heartbeats: [Heartbeat] { shared.heartbeats.withLock { $0 } }
    public var uriUpdates: [(agentId: String, uri: String)] { shared.uriUpdates.withLock { $0 } }
    public var requests: [LoopbackServer.Request] { shared.requests.withLock { $0 } }
    /// Calls answered with the failing mode's status (the attempts made while it failed).
    public var refusedCalls: Int { shared.refusedCalls.withLock { $0 } }
    public var agentIds: [String] { shared.agents.withLock { Array($0.keys) } }
    public func agent(_ id: String) -> Agent? { shared.agents.withLock { $0[id] } }
    /// Every secret the registry ever handed out.
    public var secrets: [String] { shared.issued.withLock { $0 } }

    // MARK: - The protocol

    private static func answer(_ request: LoopbackServer.Request, _ shared: Shared) -> LoopbackServer.Reply {
        let mode = shared.mode.withLock { $0 }
        switch mode {
        case .normal, .badCredentials:
            break
        case .failing(let status, let retryAfter):
            shared.refusedCalls.withLock { $0 += 1 }
            let headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
            return json(status, ["error": "the registry is down for maintenance"], headers: headers)
        case .slow(let seconds):
            Thread.sleep(forTimeInterval: seconds)
        case .garbage:
            return .respond(status: 200, headers: [("Content-Type", "text/html")], body: Array("<html>captive portal</html>".utf8))
        case .echoing(let status):
            let secrets = shared.agents.withLock { $0.values.map(\.secret) }.joined(separator: ", ")
            let header = request.header("Authorization") ?? "none"
            return json(status, ["error": .string("token rejected: \(header); known secrets: \(secrets)")])
        }
        let path = String(request.path.prefix { $0 != "?" })
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count >= 2, segments[0] == "v1", segments[1] == "agents" else { return error(404, "no such route") }
        let body = try? JSONParser.parse(request.body)
        switch (request.method, segments.count) {
        case ("POST", 2):
            return register(body, shared, badCredentials: mode == .badCredentials)
        case ("PUT", 3):
            return withAgent(segments[2], request, shared) { id, agent in
                guard let uri = body?["uri"]?.stringValue, isHTTPURL(uri) else { return error(400, "uri must be an absolute http(s) URL") }
                shared.agents.withLock { $0[id]?.uri = uri }
                shared.uriUpdates.withLock { $0.append((id, uri)) }
                return json(200, ["agentId": .string(id), "uri": .string(uri)])
            }
        case ("POST", 4) where segments[3] == "heartbeat":
            return withAgent(segments[2], request, shared) { id, _ in
                guard let body, let problem = heartbeatProblem(body) else {
                    shared.heartbeats.withLock { $0.append(Heartbeat(agentId: id, body: body ?? .null)) }
                    return json(200, ["ok": true])
                }
                return error(400, problem)
            }
        default:
            return error(405, "method not allowed")
        }
    }

    private static func register(_ body: JSONValue?, _ shared: Shared, badCredentials: Bool) -> LoopbackServer.Reply {
        guard let body, body.objectValue != nil else { return error(400, "the body must be a JSON object") }
        guard let name = body["name"]?.stringValue, !name.isEmpty else { return error(400, "name is required") }
        guard let uri = body["uri"]?.stringValue, isHTTPURL(uri) else { return error(400, "uri must be an absolute http(s) URL") }
        guard body["version"]?.stringValue != nil, body["plugins"]?.arrayValue != nil else { return error(400, "version and plugins are required") }
        if badCredentials { return json(201, ["agentId": "agt-1", "secret": "short"]) }
        let number = shared.counter.withLock { $0 += 1; return $0 }
        let id = "agt-\(number)"
        let secret = "sec_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        shared.agents.withLock { $0[id] = Agent(secret: secret, uri: uri, name: name) }
        shared.registrations.withLock { $0.append(body) }
        shared.issued.withLock { $0.append(secret) }
        return json(201, ["agentId": .string(id), "secret": .string(secret)])
    }

    /// 404 for an unknown agent, 401 for a missing or wrong secret, else the body's answer.
    private static func withAgent(
        _ id: String, _ request: LoopbackServer.Request, _ shared: Shared, _ body: (String, Agent) -> LoopbackServer.Reply
    ) -> LoopbackServer.Reply {
        guard let agent = shared.agents.withLock({ $0[id] }) else { return error(404, "no agent \(id)") }
        guard request.header("Authorization") == "Bearer \(agent.secret)" else { return error(401, "missing or wrong secret") }
        return body(id, agent)
    }

    private static func heartbeatProblem(_ body: JSONValue) -> String? {
        guard body["name"]?.stringValue != nil, body["version"]?.stringValue != nil else { return "name and version are required" }
        guard body["runtime"]?["state"]?.stringValue != nil else { return "runtime.state is required" }
        guard let plugins = body["plugins"]?.arrayValue else { return "plugins is required" }
        for plugin in plugins {
            guard plugin["name"]?.stringValue != nil, plugin["installed"]?.boolValue != nil, plugin["enabled"]?.boolValue != nil,
                plugin["loaded"]?.boolValue != nil
            else { return "each plugin needs name, installed, enabled and loaded" }
        }
        if let uri = body["uri"], !uri.isNull, !(uri.stringValue.map(isHTTPURL) ?? false) { return "uri must be an absolute http(s) URL or null" }
        return nil
    }

    private static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URLComponents(string: text), let scheme = url.scheme, let host = url.host else { return false }
        return ["http", "https"].contains(scheme.lowercased()) && !host.isEmpty
    }

    private static func error(_ status: Int, _ message: String) -> LoopbackServer.Reply {
        json(status, ["error": .string(message)])
    }

    private static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> LoopbackServer.Reply {
        .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: JSONWriter.compactBytes(value))
    }
}
