/// What the agent runtime said about one plugin after the restart that loaded it: loaded, or not and why.
public struct LoadVerdict: Sendable, Equatable, Codable {
    public let loaded: Bool
    /// Why it is not loaded (the runtime's own text, or plugind's when the runtime never said); nil when loaded.
    public let error: String?

    public init(loaded: Bool, error: String?) {
        self.loaded = loaded
        self.error = loaded ? nil : error
    }
}

/// Waiting for the runtime's verdict on a plugin a change touched (install, upgrade, sync, rollback). Implemented
/// by the runtime side (Runtime), used by the services that change plugins, which cannot see the bridge themselves.
public protocol VerdictSource: Sendable {
    /// Whether changes get a verdict at all: a runtime is attached and restarts by itself (`autoRestart`). When not,
    /// nobody waits and `loaded` stays null.
    var waits: Bool { get }
    /// Waits for the final restart that covers every restart reason pending at `changedAt` (an ISO time taken after the
    /// change added its reasons) and for the runtime's verdict on `package` in the runtime that restart started.
    /// Answers a `loaded: false` verdict saying so when `timeoutMs` passes first.
    func verdict(package: String, changedAt: String, timeoutMs: Int) -> LoadVerdict
    /// The runtime's word on `package` right now, asked once: nil when it does not answer, a restart is still pending,
    /// the runtime is still loading, or it does not list the package.
    func current(package: String) -> LoadVerdict?
}

/// No runtime attached, or it does not restart by itself: no verdicts.
public struct NoVerdicts: VerdictSource {
    public init() {}
    public var waits: Bool { false }
    public func verdict(package: String, changedAt: String, timeoutMs: Int) -> LoadVerdict {
        LoadVerdict(loaded: false, error: "no agent runtime restarts by itself here")
    }
    public func current(package: String) -> LoadVerdict? { nil }
}
