import JSON
import Vocabulary

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
    /// The runtime's word on each of `packages` as its latest status says (one status for all, possibly a second
    /// old): only those it lists, once no restart is pending and it is no longer loading. Empty without a runtime.
    func current(packages: [String]) -> [String: LoadVerdict]
}

extension VerdictSource {
    public func current(packages: [String]) -> [String: LoadVerdict] {
        var found: [String: LoadVerdict] = [:]
        for package in packages { found[package] = current(package: package) }
        return found
    }
}

/// No runtime attached, or it does not restart by itself: no verdicts.
public struct NoVerdicts: VerdictSource {
    public init() {}
    public var waits: Bool { false }
    public func verdict(package: String, changedAt: String, timeoutMs: Int) -> LoadVerdict {
        LoadVerdict(loaded: false, error: "no agent runtime restarts by itself here")
    }
    public func current(package: String) -> LoadVerdict? { nil }
    public func current(packages: [String]) -> [String: LoadVerdict] { [:] }
}

/// What every change that waits for a verdict shares (install and upgrade in Install, sync in Eject): where verdicts
/// come from, how long to wait, and which plugins get one — only an enabled plugin is loaded, so only it is judged.
public struct VerdictWait: Sendable {
    public let source: any VerdictSource
    public let timeoutMs: Int
    let core: CorePolicy

    public init(source: any VerdictSource = NoVerdicts(), timeoutMs: Int = 60_000, core: CorePolicy = CorePolicy(core: [], optional: [])) {
        self.source = source
        self.timeoutMs = timeoutMs
        self.core = core
    }

    /// Whether a change to `name` waits for a verdict: the runtime restarts by itself and the agent config
    /// (`document`) enables `name`.
    public func applies(to name: String, in document: JSONObject) -> Bool {
        source.waits && (core.isCore(name) || AgentConfigEdits.isEnabled(name, optionalCore: core.isOptionalCore(name), in: document))
    }

    /// Waits for the verdict on `package` after the restart covering `changedAt`, for at most `timeoutMs` and a
    /// second less than `timeLeftMs` (what is left of the operation's deadline), so the operation can still answer.
    public func verdict(package: String, changedAt: String, timeLeftMs: Int) -> LoadVerdict {
        source.verdict(package: package, changedAt: changedAt, timeoutMs: max(0, min(timeoutMs, timeLeftMs - 1000)))
    }
}
