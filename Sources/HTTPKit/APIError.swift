import Failures
import JSON

/// An error that knows how it is shown to a client: a status and one sentence a person can act on.
public protocol HTTPResponseError: Error {
    var status: HTTPStatus { get }
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
    public let status: HTTPStatus
    public let message: String
    public var fields: JSONObject
    public var headers: [(name: String, value: String)]

    public init(_ status: HTTPStatus, _ message: String, fields: JSONObject = JSONObject(), headers: [(name: String, value: String)] = []) {
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers
    }

    public var description: String { "\(status.code): \(message)" }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    public static func conflict(_ message: String, fields: JSONObject = JSONObject()) -> APIError { APIError(.conflict, message, fields: fields) }
    public static func unprocessable(_ message: String, fields: JSONObject = JSONObject()) -> APIError { APIError(.unprocessableContent, message, fields: fields) }
    public static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, message) }

    /// A service's error, as a client sees it: its kind's one status, its sentence and its details.
    public init(_ failure: any UserFacingError) {
        var headers: [(name: String, value: String)] = []
        if let seconds = failure.retryAfterSeconds { headers.append(("Retry-After", String(seconds))) }
        self.init(Self.status(of: failure.kind), failure.message, fields: failure.details, headers: headers)
    }

    /// The one status of each kind of failure.
    public static func status(of kind: FailureKind) -> HTTPStatus {
        switch kind {
        case .badRequest: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .unprocessable: .unprocessableContent
        case .badGateway: .badGateway
        case .unavailable: .serviceUnavailable
        case .gatewayTimeout: .gatewayTimeout
        // WebDAV's, which swift-http-types does not name.
        case .insufficientStorage: HTTPStatus(code: 507)
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
