import Failures
import JSON

/// Why a manifest was refused, or an apply failed; each case has one status.
public enum ManifestError: UserFacingError, Sendable {
    /// A member is not what the schema says (400, with `field`).
    case malformed(field: String, String)
    /// Well-formed, but it gives values it must not: a sensitive key's, a credentialed URL, a blocked key (422, with
    /// `validationErrors`).
    case invalidValues([Issue])
    /// Ejected copies with local work the apply would overwrite (409, with `blocked`): skip them to go on.
    case blocked([Blocked])
    /// A step of the apply failed; everything it changed was put back (the step's own status, with `failedStep`).
    case stepFailed(step: String, kind: FailureKind, message: String, details: JSONObject)
    /// Another apply runs (409, with `operationId`).
    case busy(String, operationId: String)

    public struct Issue: Sendable, Encodable {
        public let field: String
        public let message: String
    }

    public var description: String {
        switch self {
        case .malformed(let field, let message): "The manifest's \(field) \(message)."
        case .invalidValues(let issues):
            "The manifest gives values it must not: \(issues.prefix(3).map { "\($0.field) \($0.message)" }.joined(separator: "; "))."
        case .blocked(let items):
            "The apply would overwrite local work in \(items.map(\.plugin).joined(separator: ", ")); commit it upstream or apply with skip=<name>."
        case .stepFailed(let step, _, let message, _):
            "The apply failed at \(step) and everything it changed was put back: \(message)"
        case .busy(let message, _): message
        }
    }

    public var kind: FailureKind {
        switch self {
        case .malformed: .badRequest
        case .invalidValues: .unprocessable
        case .blocked, .busy: .conflict
        case .stepFailed(_, let kind, _, _): kind
        }
    }

    public var details: JSONObject {
        switch self {
        case .malformed(let field, _): return ["field": .string(field)]
        case .invalidValues(let issues): return ["validationErrors": (try? JSONEncoding.value(issues)) ?? .array([])]
        case .blocked(let items): return ["blocked": (try? JSONEncoding.value(items)) ?? .array([])]
        case .stepFailed(let step, _, _, var details):
            details["failedStep"] = .string(step)
            return details
        case .busy(_, let id): return ["operationId": .string(id)]
        }
    }
}

extension ManifestError {
    /// A step's failure, with the kind, sentence and details of the error that failed it.
    static func failed(step: String, _ error: any Error) -> ManifestError {
        if let error = error as? ManifestError { return error }
        guard let known = error as? any UserFacingError else {
            return .stepFailed(step: step, kind: .badGateway, message: "\(error)", details: JSONObject())
        }
        return .stepFailed(step: step, kind: known.kind, message: known.message, details: known.details)
    }
}

/// An ejected copy the apply would overwrite, and why it will not.
public struct Blocked: Sendable, Encodable, Equatable {
    public let plugin: String
    public let reason: String
}
