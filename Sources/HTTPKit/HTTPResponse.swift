import HTTPTypes
import JSON

/// A response status: swift-http-types' (`.ok`, `.notFound`, …; a code it does not name by `HTTPStatus(code: 507)`).
/// Qualified, since this module's response type has the same name as that package's.
public typealias HTTPStatus = HTTPTypes.HTTPResponse.Status

/// A response to write back: status, headers in order, body bytes.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static let jsonContentType = "application/json; charset=utf-8"

    /// A JSON response (compact encoding).
    public static func json(_ value: JSONValue, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", jsonContentType)], body: JSONWriter.compactBytes(value))
    }

    /// A wire type, encoded in its members' declared order.
    public static func json(encoding value: some Encodable, status: HTTPStatus = .ok) throws -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", jsonContentType)], body: try JSONEncoding.bytes(value))
    }

    /// Bytes already encoded as JSON.
    public static func jsonBytes(_ body: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", jsonContentType)], body: body)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.equalsIgnoringASCIICase(name) }
        headers.append((name, value))
    }
}

extension HTTPStatus {
    /// The reason phrase plugind writes after the code on the status line: the same words for the same code
    /// whatever phrase the value carries (`HTTPStatus(code:)` carries none), and `Status NNN` for a code without one.
    public var statusLineReason: String {
        switch code {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 507: "Insufficient Storage"
        default: "Status \(code)"
        }
    }
}

extension String {
    /// Header names compare without regard to ASCII case (and without allocating lowercased copies).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
        var mine = utf8.makeIterator()
        for byte in other.utf8 where lower(mine.next()!) != lower(byte) { return false }
        return true
    }
}
