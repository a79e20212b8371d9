import Plugins
import Stores

/// GET /api/runtime and POST /api/runtime/restart.
public struct RuntimeService: Sendable {
    let runtime: any RuntimeView
    let scheduler: RestartScheduler?
    let reasons: RestartReasonStore

    public init(runtime: any RuntimeView, scheduler: RestartScheduler?, reasons: RestartReasonStore) {
        self.runtime = runtime
        self.scheduler = scheduler
        self.reasons = reasons
    }

    public func state() throws -> RuntimeState {
        let pending = try reasons.all()
        let snapshot = runtime.snapshot()
        return RuntimeState(
            attached: runtime.attached, state: runtime.attached ? snapshot?.state ?? "unreachable" : nil, pid: snapshot?.pid,
            startedAt: snapshot?.startedAt, loadedPlugins: snapshot.map { $0.plugins.filter(\.loaded).count },
            failedPlugins: snapshot?.plugins.filter { !$0.loaded && $0.error != nil }.map(\.package) ?? [],
            pendingRestart: !pending.isEmpty, pendingRestartReasons: pending, lastRestartAt: scheduler?.lastRestartAt)
    }

    public func restartNow() throws -> RestartResult {
        guard let scheduler else { throw RuntimeError.notAttached }
        try scheduler.restartNow()
        return RestartResult()
    }
}

/// GET /api/runtime; members in this order, nil as null.
public struct RuntimeState: Encodable, Sendable, Equatable {
    public let attached: Bool
    /// The bridge's state, `unreachable` when it does not answer; nil without a runtime.
    public let state: String?
    public let pid: Int?
    public let startedAt: String?
    /// How many plugins the runtime reports loaded; nil when it does not answer.
    public let loadedPlugins: Int?
    /// The npm names of the plugins the runtime tried to load and could not (their reasons are each plugin's
    /// `loadError`); a running agent with any of these is not healthy.
    public let failedPlugins: [String]
    public let pendingRestart: Bool
    public let pendingRestartReasons: [String]
    public let lastRestartAt: String?
}

/// POST /api/runtime/restart.
public struct RestartResult: Encodable, Sendable, Equatable {
    public let ok = true
}
