import Adapters
import Foundation
import JSON

/// The wire protocol of `docs/agent-registry.md`: three calls, JSON both ways, the secret as a Bearer token.
/// It turns every answer into a `Reply`; deciding what to do about one is the service's job.
struct AgentRegistryClient: Sendable {
    /// What the registry handed out at registration.
    struct Credentials: Sendable, Equatable {
        var agentId: String
        var secret: String
    }

    /// A failed registration.
    struct Failure: Error, Sendable {
        var error: AgentRegistryError
        var retryAfterMs: Int?
    }

    enum Reply: Sendable {
        /// 2xx with a JSON object.
        case accepted(JSONValue?)
        /// 401 or 404 on an agent's own URL: the registry no longer knows this agent (or its secret).
        case unknownAgent(AgentRegistryError)
        /// Anything else; `retryAfterMs` from a `Retry-After` header in seconds.
        case failed(AgentRegistryError, retryAfterMs: Int?)
    }

    /// Larger answers are refused: every answer of this protocol is a few hundred bytes.
    static let maxResponseBytes: Int64 = 1 << 20
    /// Longest registry message passed on to a client.
    static let maxMessageLength = 500

    let http: HTTPClient
    let baseURL: String

    init(http: HTTPClient, baseURL: String) {
        var limits = http.configuration
        limits.maxResponseBytes = Self.maxResponseBytes
        self.http = HTTPClient(configuration: limits)
        self.baseURL = baseURL
    }

    /// `POST /v1/agents`: a new registration, or why not (with the registry's `Retry-After`, if any).
    /// `previousSecret` (of a registration being replaced) is scrubbed from errors.
    func register(_ body: HeartbeatContent.Body, previousSecret: String?) -> Result<Credentials, Failure> {
        switch send("POST", "/v1/agents", secret: nil, scrubbing: previousSecret, body: body, agentURL: false) {
        case .accepted(let answer):
            do {
                return .success(try Self.credentials(from: answer))
            } catch {
                return .failure(Failure(error: error, retryAfterMs: nil))
            }
        case .unknownAgent(let error):
            return .failure(Failure(error: error, retryAfterMs: nil))
        case .failed(let error, let retryAfterMs):
            return .failure(Failure(error: error, retryAfterMs: retryAfterMs))
        }
    }

    /// The body of `PUT /v1/agents/{agentId}`.
    struct URIUpdate: Encodable {
        let uri: String
    }

    /// `PUT /v1/agents/{agentId}` with `{uri}`.
    func updateURI(_ uri: String, as credentials: Credentials) -> Reply {
        send("PUT", "/v1/agents/\(credentials.agentId)", secret: credentials.secret, scrubbing: nil, body: URIUpdate(uri: uri), agentURL: true)
    }

    /// `POST /v1/agents/{agentId}/heartbeat`.
    func heartbeat(_ body: HeartbeatContent.Body, as credentials: Credentials) -> Reply {
        send("POST", "/v1/agents/\(credentials.agentId)/heartbeat", secret: credentials.secret, scrubbing: nil, body: body, agentURL: true)
    }

    // MARK: - One exchange

    private func send(
        _ method: String, _ path: String, secret: String?, scrubbing other: String?, body: some Encodable, agentURL: Bool
    ) -> Reply {
        let scrubber = SecretScrubber(secrets: [secret, other].compactMap { $0 })
        guard PublicURI.isAcceptableRegistry(baseURL) else {
            let reason = "the registry URL must be https without credentials (http only on loopback): \(scrubber.scrub(baseURL))"
            return .failed(.unreachable(reason), retryAfterMs: nil)
        }
        guard let bytes = try? JSONEncoding.bytes(body) else {
            return .failed(.protocolError("plugind could not encode its \(method) \(path) request"), retryAfterMs: nil)
        }
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let secret { headers.append(("Authorization", "Bearer \(secret)")) }
        let request = HTTPClientRequest(method: method, url: baseURL + path, headers: headers, body: bytes)
        let response: HTTPClientResponse
        do {
            response = try http.send(request)
        } catch {
            let detail = scrubber.scrub(error.description)
            switch error {
            case .timedOut: return .failed(.timedOut(detail), retryAfterMs: nil)
            case .tooLarge, .tooManyRedirects, .redirectRefused, .loopbackRefused: return .failed(.protocolError(detail), retryAfterMs: nil)
            case .connectFailed, .tls, .protocolNotAllowed, .other: return .failed(.unreachable(detail), retryAfterMs: nil)
            }
        }
        let answer = try? JSONParser.parse(response.body, maxDepth: 32)
        if response.isSuccess {
            // A 2xx that is not JSON is likelier a proxy or a wrong URL than a registry.
            guard answer?.objectValue != nil else {
                return .failed(.protocolError("\(method) \(path) answered HTTP \(response.status) without a JSON object"), retryAfterMs: nil)
            }
            return .accepted(answer)
        }
        let message = Self.message(from: answer, status: response.status, scrubber: scrubber)
        let refusal = AgentRegistryError.refused(status: response.status, message: message)
        if agentURL && (response.status == 401 || response.status == 404) { return .unknownAgent(refusal) }
        let retryAfter = response.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return .failed(refusal, retryAfterMs: retryAfter.map { min(max($0, 0), 86_400) * 1000 })
    }

    /// The registry's `error` text, cut short and scrubbed; a generic sentence when it sent none.
    static func message(from answer: JSONValue?, status: Int, scrubber: SecretScrubber) -> String {
        guard let text = answer?["error"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            return "HTTP \(status) without an error message"
        }
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
        // Scrubbed before it is cut, so a cut through a secret cannot leave half of it.
        let clean = scrubber.scrub(printable)
        return clean.count > maxMessageLength ? String(clean.prefix(maxMessageLength)) + "…" : clean
    }

    /// `{agentId, secret}` from a registration answer. Neither value is ever repeated in an error:
    /// a half-valid answer may still hold a real secret.
    static func credentials(from answer: JSONValue?) throws(AgentRegistryError) -> Credentials {
        guard let object = answer?.objectValue else { throw .protocolError("the registration answer is not a JSON object") }
        guard let agentId = object["agentId"]?.stringValue, isAgentId(agentId) else {
            throw .protocolError("the registration answer has no usable agentId (1 to 128 of A-Z a-z 0-9 . _ ~ -)")
        }
        guard let secret = object["secret"]?.stringValue, isSecret(secret) else {
            throw .protocolError("the registration answer has no usable secret (16 to 4096 visible ASCII characters)")
        }
        return Credentials(agentId: agentId, secret: secret)
    }

    /// Safe as a URL path segment without encoding.
    static func isAgentId(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "-")
            } && text != "." && text != ".."
    }

    /// Safe in an `Authorization` header and long enough to be a real secret.
    static func isSecret(_ text: String) -> Bool {
        (16...4096).contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }
}
