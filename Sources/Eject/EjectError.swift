import Failures
import JSON

/// Why an eject, sync or reinject was refused or failed; the API maps each case to one status.
public enum EjectError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// The plugin is unknown, or not ejected (404).
    case notFound(String)
    /// Already ejected, local edits in the way, or a merge conflict (409; conflicts listed).
    case conflict(String, conflicts: [String])
    /// No repository to eject from, a monorepo entry, or a build that failed (422; log tail attached).
    case refused(String, logTail: [String])
    /// git or npm failed to fetch (502).
    case upstream(String)
    /// git, npm or the build ran out of time (504).
    case timedOut(String)

    public var description: String {
        switch self {
        case .notFound(let m), .upstream(let m), .timedOut(let m): m
        case .conflict(let m, _): m
        case .refused(let m, _): m
        }
    }
}

extension EjectError {
    public var kind: FailureKind {
        switch self {
        case .notFound: .notFound
        case .conflict: .conflict
        case .refused: .unprocessable
        case .upstream: .badGateway
        case .timedOut: .gatewayTimeout
        }
    }

    public var details: JSONObject {
        switch self {
        case .conflict(_, let conflicts): .listing("conflicts", conflicts, evenIfEmpty: false)
        case .refused(_, let tail): .listing("logTail", tail, evenIfEmpty: false)
        default: JSONObject()
        }
    }
}
