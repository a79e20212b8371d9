import Failures
import JSON

/// One problem with one field, as `validationErrors` shows it.
public struct FieldIssue: Encodable, Sendable, Equatable {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// Why a plugin request was refused.
public enum PluginError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// No known plugin matches the id.
    case notFound(String)
    /// Several plugins match the id; the client must use an npm name.
    case ambiguous(String, candidates: [String])
    /// Submitted configuration that is well-formed but not acceptable; nothing was changed.
    case invalid([FieldIssue])
    /// Core plugins are always enabled.
    case coreAlwaysEnabled(String)
    /// A request the route cannot act on (missing or mistyped field).
    case badRequest(String)
    /// The bundled catalogue could not be read.
    case catalogueUnreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let id): "No plugin is known as '\(id.prefix(200))'."
        case .ambiguous(let id, let candidates): "'\(id.prefix(200))' matches \(candidates.count) plugins; use one of their npm names."
        case .invalid(let issues):
            issues.count == 1 ? "\(issues[0].field): \(issues[0].message); nothing was changed."
                : "\(issues.count) configuration values were refused; nothing was changed."
        case .coreAlwaysEnabled(let id): "\(id) is a core plugin and is always enabled."
        case .badRequest(let message): message
        case .catalogueUnreadable(let path, let reason): "The plugin catalogue \(path) cannot be read (\(reason))."
        }
    }
}

extension PluginError {
    public var kind: FailureKind {
        switch self {
        case .notFound: .notFound
        case .ambiguous, .coreAlwaysEnabled: .conflict
        case .invalid: .unprocessable
        case .badRequest: .badRequest
        case .catalogueUnreadable: .unavailable
        }
    }

    public var details: JSONObject {
        switch self {
        case .ambiguous(_, let candidates): .listing("candidates", candidates)
        case .invalid(let issues):
            // Encoding throws only where a member's own `encode(to:)` does, and these have none.
            (try? JSONEncoding.value(InvalidDetails(validationErrors: issues)))?.objectValue ?? JSONObject()
        default: JSONObject()
        }
    }
}

/// The extra member of an `invalid` error's body.
private struct InvalidDetails: Encodable {
    let validationErrors: [FieldIssue]
}
