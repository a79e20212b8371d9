import Failures
import JSON

/// An error that knows how it is shown to a client: a status and one sentence a person can act on.
public protocol HTTPResponseError: Error {
    var status: Int { get }
    /// One sentence, never a secret.
    var message: String { get }
    /// Optional extra members of the error body (`validationErrors`, `conflicts`, `candidates`, …).
    var fields: JSONObject { get }
    /// Extra response headers (`Allow`, `Retry-After`, `WWW-Authenticate`).
    var headers: [(name: String, value: String)] { get }
}

extension HTTPResponseError {
    public var fields: JSONObject { JSONObject() }
    public var headers: [(name: String, value: String)] { [] }
}

/// The one concrete error of the HTTP layer.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public let status: Int
    public let message: String
    public var fields: JSONObject
    public var headers: [(name: String, value: String)]

    public init(_ status: Int, _ message: String, fields: JSONObject = JSONObject(), headers: [(name: String, value: String)] = []) {
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers
    }

    public var description: String { "\(status): \(message)" }

    public static func badRequest(_ message: String) -> APIError { APIError(400, message) }
    public static func notFound(_ message: String) -> APIError { APIError(404, message) }
    public static func conflict(_ message: String, fields: JSONObject = JSONObject()) -> APIError { APIError(409, message, fields: fields) }
    public static func unprocessable(_ message: String, fields: JSONObject = JSONObject()) -> APIError { APIError(422, message, fields: fields) }
    public static func unavailable(_ message: String) -> APIError { APIError(503, message) }

    /// A service's error, as a client sees it: its kind's one status, its sentence and its details.
    public init(_ failure: any UserFacingError) {
        var headers: [(name: String, value: String)] = []
        if let seconds = failure.retryAfterSeconds { headers.append(("Retry-After", String(seconds))) }
        self.init(Self.status(of: failure.kind), failure.message, fields: failure.details, headers: headers)
    }

    /// The one status of each kind of failure.
    public static func status(of kind: FailureKind) -> Int {
        switch kind {
        case .badRequest: 400
        case .notFound: 404
        case .conflict: 409
        case .unprocessable: 422
        case .badGateway: 502
        case .unavailable: 503
        case .gatewayTimeout: 504
        case .insufficientStorage: 507
        }
    }
}

extension HTTPResponse {
    /// The JSON body every error has: `{"error": "...", ...fields}`.
    public static func error(_ error: any HTTPResponseError) -> HTTPResponse {
        var body = JSONObject([JSONObject.Member(key: "error", value: .string(error.message))])
        for member in error.fields where member.key != "error" { body[member.key] = member.value }
        var response = HTTPResponse.json(.object(body), status: error.status)
        for header in error.headers { response.setHeader(header.name, header.value) }
        return response
    }
}
