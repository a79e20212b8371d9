import HTTPKit
import JSON
import Operations
import Plugins
import Install
import Eject
import AgentRegistry
import Registry
import Stores

/// How errors from the layers below reach a client. One place, so every route answers alike.
public enum ErrorTranslation {
    public static func translate(_ error: any Error) -> (any HTTPResponseError)? {
        switch error {
        case let error as OperationError:
            switch error {
            case .invalidId: return APIError(400, error.description)
            case .duplicateId: return APIError(409, error.description)
            case .busy(_, let id):
                return APIError(409, error.description, fields: JSONObject([.init(key: "operationId", value: .string(id))]))
            case .tooMany: return APIError(503, error.description, headers: [("Retry-After", "5")])
            case .deadlineExceeded: return APIError(504, error.description)
            }
        case let error as StoreError:
            switch error {
            case .noSpace: return APIError(507, error.description)
            case .configUnparsable, .configIO, .corrupt: return APIError(503, error.description)
            }
        case let error as PluginError:
            switch error {
            case .notFound: return APIError(404, error.description)
            case .ambiguous(_, let candidates):
                return APIError(409, error.description, fields: JSONObject([.init(key: "candidates", value: .strings(candidates))]))
            case .invalid(let issues):
                return APIError(422, error.description, fields: JSONObject([.init(key: "validationErrors", value: .array(issues.map(\.json)))]))
            case .coreAlwaysEnabled: return APIError(409, error.description)
            case .badRequest: return APIError(400, error.description)
            case .catalogueUnreadable: return APIError(503, error.description)
            }
        case let error as InstallError:
            switch error {
            case .badRequest: return APIError(400, error.description)
            case .notFound: return APIError(404, error.description)
            case .conflict: return APIError(409, error.description)
            case .unlisted, .refused: return APIError(422, error.description)
            case .dependencyRefused(_, let path, let spec):
                var fields = JSONObject([.init(key: "dependencyPath", value: .string(path.joined(separator: " → ")))])
                if let spec { fields["spec"] = .string(spec) }
                return APIError(422, error.description, fields: fields)
            case .upstream: return APIError(502, error.description)
            case .noRegistrySnapshot: return APIError(503, error.description)
            case .timedOut: return APIError(504, error.description)
            case .noSpace: return APIError(507, error.description)
            }
        case let error as EjectError:
            switch error {
            case .notFound: return APIError(404, error.description)
            case .conflict(_, let conflicts):
                return APIError(409, error.description, fields: conflicts.isEmpty ? JSONObject() : JSONObject([.init(key: "conflicts", value: .strings(conflicts))]))
            case .refused(_, let tail):
                return APIError(422, error.description, fields: tail.isEmpty ? JSONObject() : JSONObject([.init(key: "logTail", value: .strings(tail))]))
            case .upstream: return APIError(502, error.description)
            case .timedOut: return APIError(504, error.description)
            }
        case let error as AgentRegistryError:
            switch error {
            case .notRegistered, .noURI: return APIError(409, error.description)
            case .badURI: return APIError(400, error.description)
            case .unreachable, .refused, .protocolError: return APIError(502, error.description)
            case .timedOut: return APIError(504, error.description)
            }
        case let error as RegistryError:
            switch error {
            case .noSnapshot: return APIError(503, error.description)
            case .fetchFailed: return APIError(502, error.description)
            case .notFound: return APIError(404, error.description)
            case .ambiguous(_, let candidates):
                return APIError(409, error.description, fields: JSONObject([.init(key: "candidates", value: .strings(candidates))]))
            case .badQuery: return APIError(400, error.description)
            }
        case let error as RuntimeError:
            switch error {
            case .notAttached, .unreachable: return APIError(503, error.description)
            case .notLoaded: return APIError(409, error.description)
            case .timedOut: return APIError(504, error.description)
            case .protocolError: return APIError(502, error.description)
            }
        default:
            return nil
        }
    }
}
