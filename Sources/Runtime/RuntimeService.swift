import JSON
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

    public func state() throws -> JSONValue {
        let pending = try reasons.all()
        let snapshot = runtime.snapshot()
        var state: JSONValue = .null
        if runtime.attached { state = .string(snapshot?.state ?? "unreachable") }
        return [
            "attached": .bool(runtime.attached),
            "state": state,
            "pid": snapshot?.pid.map { .number($0) } ?? .null,
            "startedAt": .string(snapshot?.startedAt),
            "pendingRestart": .bool(!pending.isEmpty),
            "pendingRestartReasons": .strings(pending),
            "lastRestartAt": .string(scheduler?.lastRestartAt),
        ]
    }

    public func restartNow() throws -> JSONValue {
        guard let scheduler else { throw RuntimeError.notAttached }
        try scheduler.restartNow()
        return ["ok": true]
    }
}
