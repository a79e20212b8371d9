/// What the agent runtime reports about the plugins it loaded.
public struct RuntimeSnapshot: Sendable {
    public struct LoadedPlugin: Sendable {
        public let package: String
        public let loaded: Bool
        public let error: String?
        public init(package: String, loaded: Bool, error: String?) {
            self.package = package
            self.loaded = loaded
            self.error = error
        }
    }
    public let state: String
    public let plugins: [LoadedPlugin]
    public init(state: String, plugins: [LoadedPlugin]) {
        self.state = state
        self.plugins = plugins
    }

    /// Matched on the npm name only, never by substring.
    public func plugin(_ npmName: String) -> LoadedPlugin? { plugins.first { $0.package == npmName } }
}

/// Where plugin state comes from at run time. The bridge to a real agent implements this.
public protocol RuntimeView: Sendable {
    /// nil when no runtime is attached or reachable.
    func snapshot() -> RuntimeSnapshot?
    /// Whether a runtime is configured at all.
    var attached: Bool { get }
}

/// No runtime attached: nothing is active.
public struct NoRuntime: RuntimeView {
    public init() {}
    public func snapshot() -> RuntimeSnapshot? { nil }
    public var attached: Bool { false }
}
