import Audit
import Dispatch
import Foundation
import HTTPKit
import JSON
import Locking

/// Milady's app aborts every request after 10 s (`DEFAULT_FETCH_TIMEOUT_MS` in its `apps/app/src/api-client.ts`),
/// install included, and would report a failure for an install that goes on to succeed. A request that carries
/// Milady's `X-Milady-Client-Id` and no `X-Operation-Id` of its own is therefore run as an operation under an id
/// plugind picks, on a thread of its own: the usual answer when it ends within `clientAnswerWithinMs`, else `202`
/// with the operation to follow while it finishes in the background (docs/milady-compatibility.md, "Installs
/// longer than 10 s"). Every other client (plugind's dashboard, curl) keeps the synchronous answer.
struct EarlyAnswer: Sendable {
    let within: Duration

    /// Whether `context` is a request this applies to.
    static func applies(to context: RequestContext) -> Bool {
        context.request.header("x-milady-client-id") != nil && context.request.header("x-operation-id") == nil
    }

    /// Runs `work` with a fresh operation id; answers what it answered, or `pending(id)` once `within` has passed.
    func answer(
        _ work: @escaping @Sendable (_ operationId: String) throws -> HTTPResponse, pending: (_ operationId: String) throws -> HTTPResponse
    ) throws -> HTTPResponse {
        let operationId = UUID().uuidString.lowercased()
        let outcome = Outcome()
        // The request's audit entry goes on with the work: its operation and changes are the request's.
        let scope = AuditScope.current
        let thread = Thread {
            let result = AuditScope.$current.withValue(scope) { Result { try work(operationId) } }
            outcome.finish(result)
        }
        thread.name = "operation-\(operationId.prefix(8))"
        thread.start()
        let (seconds, attoseconds) = within.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        if outcome.done.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success, let result = outcome.result {
            return try result.get()
        }
        return try pending(operationId)
    }

    /// What the thread ended with, and the signal that it did.
    private final class Outcome: Sendable {
        let done = DispatchSemaphore(value: 0)
        private let stored = Locked<Result<HTTPResponse, any Error>?>(nil)
        var result: Result<HTTPResponse, any Error>? { stored.withLock { $0 } }
        func finish(_ result: Result<HTTPResponse, any Error>) {
            stored.withLock { $0 = result }
            done.signal()
        }
    }
}

/// The `202` an install or uninstall from Milady's app gets when it outlasts `clientAnswerWithinMs`. `ok` is true
/// (the app treats any 2xx as done and then reloads its plugin list); the operation says how it ended.
struct PendingChange: Encodable {
    let ok = true
    let pending = true
    let operationId: String
    /// Where to follow it: `GET /api/operations/<id>`.
    let operation: String
    let requiresRestart = true
    let message: String

    init(operationId: String, message: String) {
        self.operationId = operationId
        self.operation = "/api/operations/\(operationId)"
        self.message = message
    }
}
