import Logging

/// One answered request, as the gatekeeper reports it: nothing private (no query, no header, no body).
public struct RequestLogEntry: Sendable {
    public let method: HTTPMethod
    /// The raw path without the query, cut at 200 characters.
    public let path: Substring
    public let status: HTTPStatus
    /// How long the answer took, in tenths of a millisecond.
    public let tenthsOfMs: Int64
    public let requestId: String

    /// `GET /api/health 200 0.1ms`
    public var message: String { "\(method.rawValue) \(path) \(status.code) \(tenthsOfMs / 10).\(tenthsOfMs % 10)ms" }
}

/// Where the gatekeeper's one line per request goes.
public protocol RequestLog: Sendable {
    func record(_ entry: RequestLogEntry)
}

/// The line through swift-log at info level, with the request id as metadata. The executable may hand
/// the gatekeeper a cheaper writer of the same line instead (it is written on every request).
public struct LoggerRequestLog: RequestLog {
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func record(_ entry: RequestLogEntry) {
        logger.info("\(entry.message)", metadata: ["requestId": .string(entry.requestId)])
    }
}
