import Failures
import JSON

/// Why an operation could not start or did not finish, each mapped to one status by the API.
public enum OperationError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// `X-Operation-Id` is not a UUID.
    case invalidId(String)
    /// `X-Operation-Id` names an operation that already exists.
    case duplicateId(String)
    /// Another operation is already working on this target.
    case busy(target: String, operationId: String)
    /// The cap on concurrent long operations is reached.
    case tooMany(limit: Int)
    /// The operation ran past its overall deadline.
    case deadlineExceeded(step: String)

    public var description: String {
        switch self {
        case .invalidId(let id): "X-Operation-Id must be a UUID, not '\(id.prefix(64))'."
        case .duplicateId(let id): "An operation with id \(id) already exists; send a fresh X-Operation-Id."
        case .busy(let target, let id): "Another operation (\(id)) is already working on \(target); wait for it to finish."
        case .tooMany(let limit): "\(limit) long operations are already running; try again shortly."
        case .deadlineExceeded(let step): "The operation ran out of time during \(step)."
        }
    }
}

extension OperationError {
    public var kind: FailureKind {
        switch self {
        case .invalidId: .badRequest
        case .duplicateId, .busy: .conflict
        case .tooMany: .unavailable
        case .deadlineExceeded: .gatewayTimeout
        }
    }

    /// What a busy target's error adds to its body: the operation holding the target.
    struct BusyDetails: Encodable {
        let operationId: String
    }

    public var details: JSONObject {
        guard case .busy(_, let id) = self else { return JSONObject() }
        return (try? JSONEncoding.value(BusyDetails(operationId: id)))?.objectValue ?? JSONObject()
    }

    public var retryAfterSeconds: Int? {
        if case .tooMany = self { return 5 }
        return nil
    }
}
