import Adapters
import JSON
import Plugins

/// plugind's side of the runtime bridge (docs/runtime-bridge.md): JSON over HTTP on a unix socket
/// or a loopback port. Every call is bounded, so a dead runtime never stalls a request.
public struct RuntimeBridgeClient: Sendable {
    public static let protocolVersion = 1

    /// `unix:/path/to/bridge.sock` or `http://127.0.0.1:PORT`.
    public let endpoint: String
    let quick: HTTPClient
    let checking: HTTPClient
    let checkTimeoutMs: Int

    /// `callTimeoutMs` bounds status and restart; a check may take `checkTimeoutMs`, plus a second for the answer.
    public init(endpoint: String, callTimeoutMs: Int, checkTimeoutMs: Int) {
        self.endpoint = endpoint
        self.checkTimeoutMs = checkTimeoutMs
        quick = HTTPClient(configuration: .init(
            connectTimeout: .milliseconds(callTimeoutMs), totalTimeout: .milliseconds(callTimeoutMs),
            idleTimeout: .milliseconds(callTimeoutMs), maxResponseBytes: 4 << 20, maxRedirects: 0))
        checking = HTTPClient(configuration: .init(
            connectTimeout: .milliseconds(callTimeoutMs), totalTimeout: .milliseconds(checkTimeoutMs + 1000),
            idleTimeout: .milliseconds(checkTimeoutMs + 1000), maxResponseBytes: 1 << 20, maxRedirects: 0))
    }

    public func status() throws(RuntimeError) -> RuntimeSnapshot {
        let document = try call(quick, "GET", "/v1/status", body: nil)
        guard let state = document["state"]?.stringValue, let list = document["plugins"]?.arrayValue else {
            throw .protocolError("the status has no state or plugins")
        }
        let plugins = list.compactMap { item -> RuntimeSnapshot.LoadedPlugin? in
            guard let package = item["package"]?.stringValue else { return nil }
            return RuntimeSnapshot.LoadedPlugin(
                package: package, pluginName: item["pluginName"]?.stringValue, loaded: item["loaded"]?.boolValue ?? false,
                error: item["error"]?.stringValue)
        }
        return RuntimeSnapshot(state: state, pid: document["pid"]?.intValue, startedAt: document["startedAt"]?.stringValue, plugins: plugins)
    }

    public func check(package: String) throws(RuntimeError) -> PluginCheckResult {
        let body = try encoded(CheckRequest(package: package, timeoutMs: checkTimeoutMs))
        let document = try call(checking, "POST", "/v1/plugins/check", body: body, notLoadedName: package)
        guard let ok = document["ok"]?.boolValue else { throw .protocolError("the check answer has no 'ok'") }
        return PluginCheckResult(
            ok: ok, message: document["message"]?.stringValue ?? "", durationMs: document["durationMs"]?.intValue ?? 0,
            details: document["details"].flatMap { $0.isNull ? nil : $0 })
    }

    public func restart(reasons: [String]) throws(RuntimeError) {
        _ = try call(quick, "POST", "/v1/restart", body: try encoded(RestartRequest(reasons: reasons)))
    }

    /// `POST /v1/plugins/check`.
    struct CheckRequest: Encodable {
        let package: String
        let timeoutMs: Int
    }

    /// `POST /v1/restart`.
    struct RestartRequest: Encodable {
        let reasons: [String]
    }

    private func encoded(_ body: some Encodable) throws(RuntimeError) -> [UInt8] {
        do {
            return try JSONEncoding.bytes(body)
        } catch {
            throw .protocolError("plugind could not encode its request: \(error)")
        }
    }

    static func shortReason(_ error: HTTPClientError) -> String {
        switch error {
        case .timedOut: "timed out"
        case .connectFailed: "nothing is listening"
        default: "the connection failed"
        }
    }

    private func call(
        _ client: HTTPClient, _ method: String, _ path: String, body: [UInt8]?, notLoadedName: String = "the plugin"
    ) throws(RuntimeError) -> JSONValue {
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("X-Bridge-Protocol", String(Self.protocolVersion))]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let request = HTTPClientRequest(endpoint: endpoint, path: path, method: method, headers: headers, body: body)
        let response: HTTPClientResponse
        do {
            response = try client.send(request)
        } catch {
            if case .timedOut = error, path == "/v1/plugins/check" { throw .timedOut(checkTimeoutMs) }
            if endpoint.hasPrefix("unix:") {
                throw .unreachable("no answer on the bridge socket \(endpoint.dropFirst("unix:".count)) (\(Self.shortReason(error)))")
            }
            throw .unreachable(error.description)
        }
        let document = try? JSONParser.parse(response.body, maxDepth: 64)
        switch response.status {
        case 200..<300:
            guard let document, document.objectValue != nil else { throw .protocolError("the body is not a JSON object") }
            return document
        case 409: throw .notLoaded(notLoadedName)
        case 504: throw .timedOut(checkTimeoutMs)
        case 503: throw .unreachable(document?["error"]?.stringValue ?? "the runtime is not running")
        default:
            throw .protocolError("status \(response.status)\(document?["error"]?.stringValue.map { ": " + $0 } ?? "")")
        }
    }
}
