import Failures
import JSON

/// What the agent runtime reports about itself and the plugins it loaded.
public struct RuntimeSnapshot: Sendable {
    public struct LoadedPlugin: Sendable {
        public let package: String
        public let pluginName: String?
        public let loaded: Bool
        public let error: String?
        public init(package: String, pluginName: String? = nil, loaded: Bool, error: String?) {
            self.package = package
            self.pluginName = pluginName
            self.loaded = loaded
            self.error = error
        }
    }
    public let state: String
    public let pid: Int?
    public let startedAt: String?
    public let plugins: [LoadedPlugin]
    private let byPackage: [String: LoadedPlugin]

    public init(state: String, pid: Int? = nil, startedAt: String? = nil, plugins: [LoadedPlugin]) {
        self.state = state
        self.pid = pid
        self.startedAt = startedAt
        self.plugins = plugins
        self.byPackage = Dictionary(plugins.map { ($0.package, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Matched on the npm name only, never by substring.
    public func plugin(_ npmName: String) -> LoadedPlugin? { byPackage[npmName] }
}

/// The outcome of a plugin's own check (`testConnection()` or `healthCheck()`).
public struct PluginCheckResult: Sendable {
    public let ok: Bool
    public let message: String
    public let durationMs: Int
    public let details: JSONValue?
    public init(ok: Bool, message: String, durationMs: Int, details: JSONValue?) {
        self.ok = ok
        self.message = message
        self.durationMs = durationMs
        self.details = details
    }
}

/// Why the runtime could not answer.
public enum RuntimeError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// No runtime is configured.
    case notAttached
    /// The runtime is configured but did not answer (down, or too slow).
    case unreachable(String)
    /// The plugin is not loaded in the runtime.
    case notLoaded(String)
    /// The plugin's code is not on this agent: not bundled, installed or ejected.
    case notInstalled(String)
    /// The plugin is not enabled, so the agent does not load it.
    case notEnabled(String)
    /// The agent tried to load the plugin and failed, for this reason.
    case failedToLoad(String, reason: String)
    /// The runtime's check ran past its timeout.
    case timedOut(Int)
    /// The runtime answered with something we cannot use.
    case protocolError(String)

    public var description: String {
        switch self {
        case .notAttached: "No agent runtime is attached to plugind (setting runtimeBridge)."
        case .unreachable(let why): "The agent runtime is not reachable: \(why)."
        case .notLoaded(let name): "\(name) is enabled but not loaded in the agent runtime yet; restart the agent first."
        case .notInstalled(let name): "\(name) is not installed in this agent (its code is not bundled, installed or ejected); install or eject it first."
        case .notEnabled(let name): "\(name) is not enabled; enable it and restart the agent first."
        case .failedToLoad(let name, let reason): "\(name) failed to load in the agent (\(reason)); fix that and restart the agent."
        case .timedOut(let ms): "The plugin's check did not finish within \(ms) ms."
        case .protocolError(let why): "The agent runtime answered with something plugind does not understand: \(why)."
        }
    }
}

/// Where plugin state comes from at run time. The bridge to a real agent implements this.
public protocol RuntimeView: Sendable {
    /// nil when no runtime is attached or reachable. Must answer fast (cached, bounded by the bridge timeout).
    func snapshot() -> RuntimeSnapshot?
    /// Whether a runtime is configured at all.
    var attached: Bool { get }
    /// Runs a loaded plugin's check.
    func check(package: String) throws(RuntimeError) -> PluginCheckResult
}

/// No runtime attached: nothing is active and nothing can be checked.
public struct NoRuntime: RuntimeView {
    public init() {}
    public func snapshot() -> RuntimeSnapshot? { nil }
    public var attached: Bool { false }
    public func check(package: String) throws(RuntimeError) -> PluginCheckResult { throw .notAttached }
}

extension RuntimeError {
    public var kind: FailureKind {
        switch self {
        case .notAttached, .unreachable: .unavailable
        case .notLoaded, .notInstalled, .notEnabled, .failedToLoad: .conflict
        case .timedOut: .gatewayTimeout
        case .protocolError: .badGateway
        }
    }
}
