import Failures

/// Why an agent registry call was refused or failed. Messages never carry the agent's secret.
/// The API maps each case to one status (see `docs/agent-registry.md`).
public enum AgentRegistryError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// The agent has no registration with the configured registry yet (409).
    case notRegistered
    /// Registering needs a public URI and none was given, stored or configured (409).
    case noURI
    /// The URI offered is not an absolute http(s) URL without credentials; the text says why (400).
    case badURI(String)
    /// The registry could not be reached: DNS, connection, TLS, or a registry URL plugind will not use (502).
    case unreachable(String)
    /// The registry did not answer within the connect or fetch timeout (504).
    case timedOut(String)
    /// The registry answered with an error status; `message` is its `error` text, scrubbed (502).
    case refused(status: Int, message: String)
    /// The registry answered 2xx with something this protocol does not allow (502).
    case protocolError(String)

    public var description: String {
        switch self {
        case .notRegistered:
            "This agent is not registered with the agent registry; register it first."
        case .noURI:
            "No public URI is known for this agent; send {\"uri\": \"https://…\"}, use update-uri, or set publicUri."
        case .badURI(let reason):
            "The URI cannot be used: \(reason)."
        case .unreachable(let detail):
            "The agent registry could not be reached (\(detail.prefix(160))); check agentRegistryUrl or the network."
        case .timedOut(let detail):
            "The agent registry did not answer in time (\(detail.prefix(160))); check agentRegistryUrl, timeouts.fetchMs or the network."
        case .refused(let status, let message):
            "The agent registry refused the request (HTTP \(status)): \(message)"
        case .protocolError(let detail):
            "The agent registry's answer could not be used (\(detail))."
        }
    }
}

extension AgentRegistryError {
    public var kind: FailureKind {
        switch self {
        case .notRegistered, .noURI: .conflict
        case .badURI: .badRequest
        case .unreachable, .refused, .protocolError: .badGateway
        case .timedOut: .gatewayTimeout
        }
    }
}
