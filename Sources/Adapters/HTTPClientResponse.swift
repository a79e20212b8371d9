/// The final response of an `HTTPClient` call, after any redirects were followed.
public struct HTTPClientResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The final response's headers in arrival order; look them up with `header(_:)`.
    public var headers: [(name: String, value: String)]
    /// The body; empty when it was streamed to a file (for a 2xx status).
    public var body: [UInt8]
    /// The URL that produced this response (differs from the request's after redirects).
    public var effectiveURL: String

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], effectiveURL: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.effectiveURL = effectiveURL
    }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Every value of the header `name`, compared case-insensitively, in arrival order.
    public func headers(named name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The body decoded as UTF-8 (invalid sequences become U+FFFD).
    public var bodyText: String {
        String(decoding: body, as: UTF8.self)
    }

    /// Whether the status is 2xx.
    public var isSuccess: Bool {
        (200..<300).contains(status)
    }
}
