import JSON
import Locking
import Stores

/// The audit entry of one changing request while it is answered and while an operation it started runs. Bound as
/// `AuditScope.current` on the thread that runs the handler (and rebound on a thread the request hands its work to),
/// so the agent config's writes and the operation runner find the entry they belong to without being passed it.
public final class AuditScope: Sendable {
    /// The scope of the request this thread works for; nil outside a changing request.
    @TaskLocal public static var current: AuditScope?

    struct State {
        var row: AuditRow
        var answered = false
        var operationRunning = false
    }

    let trail: AuditTrail
    /// Whose settings the request's `env` changes are: its target as a plugin name.
    let settingsOwner: String?
    private let state: Locked<State>

    init(trail: AuditTrail, row: AuditRow) {
        self.trail = trail
        self.settingsOwner = row.target
        self.state = Locked(State(row: row))
    }

    /// Runs `body` with this scope as the current one.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        try Self.$current.withValue(self) { try body() }
    }

    /// The request was answered with `status`: the entry is written (it is settled unless its operation still runs).
    public func finish(status: Int) {
        update { state in
            state.row.status = status
            state.answered = true
        }
    }

    /// The entry as it stands (for tests and logs).
    public var row: AuditRow { state.withLock { $0.row } }

    // MARK: What the agent config writer and the operation runner report

    /// The intent: before the write, the entry is stored as pending with the hash of the file about to be in place.
    /// A failure to store it stops the write, so no change is ever made without its entry.
    func intend(hash: String, changes: [JSONValue]) throws {
        try state.withLock { state in
            var row = state.row
            row.pendingHash = hash
            row.pendingChanges = changes
            // Not stored: the write is refused, and the entry stays as it was.
            try trail.save(&row, settled: false)
            state.row = row
        }
        trail.pause.at(.afterIntent)
    }

    /// The write happened (or not): its changes become the entry's, and the intent is cleared.
    func written(_ replaced: Bool) {
        if replaced { trail.pause.at(.afterWrite) }
        update { state in
            if replaced { state.row.changes += state.row.pendingChanges }
            state.row.pendingHash = nil
            state.row.pendingChanges = []
        }
    }

    func operationStarted(id: String) {
        state.withLock { state in
            state.row.operationId = id
            state.row.outcome = "running"
            state.operationRunning = true
        }
    }

    func operationFinished(succeeded: Bool, extra: [JSONValue]) {
        update { state in
            state.row.outcome = succeeded ? "succeeded" : "failed"
            state.row.changes += extra
            state.operationRunning = false
        }
    }

    /// Applies `change` and stores the entry when it exists or the request is answered (an entry is first stored by
    /// an intent or by the answer; an unanswered request that wrote nothing has none yet).
    private func update(_ change: (inout State) -> Void) {
        state.withLock { state in
            change(&state)
            guard state.row.id != nil || state.answered else { return }
            do {
                try trail.save(&state.row, settled: state.answered && !state.operationRunning)
            } catch {
                trail.logger.error("cannot store an audit entry", metadata: ["requestId": "\(state.row.requestId)", "error": "\(error)"])
            }
        }
    }
}
