import HTTPTypes

/// A request method: swift-http-types' (`.get`, `.post`, …; any other token by `HTTPMethod("PROPFIND")`).
/// Qualified, since this module's request type has the same name as that package's.
public typealias HTTPMethod = HTTPTypes.HTTPRequest.Method

extension HTTPMethod {
    /// The method a front end sent (`REQUEST_METHOD`), upper-cased as plugind has always taken it; nil when it is
    /// not an HTTP token (nginx never sends one).
    public init?(frontEnd text: String) {
        // Front ends send methods in upper case; only an odd one pays for a copy.
        self.init(text.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) ? text.uppercased() : text)
    }
}

/// A request as the transport received it: nothing here is decoded or trusted yet.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The raw `REQUEST_URI`, query included, exactly as the client sent it.
    public var uri: String
    /// Header names lowercased with `-` (from `HTTP_*`, `CONTENT_TYPE`, `CONTENT_LENGTH`).
    public var headers: [String: String]
    public var body: [UInt8]
    /// The declared body was over the limit and was not read.
    public var bodyTooLarge: Bool
    public var remoteAddress: String
    /// The origin the front end received the request on (`$scheme://$http_host`), if it said.
    public var origin: String?
    /// The front end's own id for this request (nginx's `$request_id`), so both logs name it alike.
    public var frontEndRequestId: String?

    public init(
        method: HTTPMethod, uri: String, headers: [String: String] = [:], body: [UInt8] = [],
        bodyTooLarge: Bool = false, remoteAddress: String = "", origin: String? = nil, frontEndRequestId: String? = nil
    ) {
        self.frontEndRequestId = frontEndRequestId
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.bodyTooLarge = bodyTooLarge
        self.remoteAddress = remoteAddress
        self.origin = origin
    }

    /// The header `name`, which is matched without regard to case.
    public func header(_ name: String) -> String? {
        headers[name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name]
    }

    /// The path part of the URI, before `?`.
    public var rawPath: Substring {
        guard let q = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return uri[...] }
        return uri[..<q]
    }

    /// The query part of the URI, after `?`.
    public var rawQuery: Substring {
        guard let q = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return "" }
        return uri[uri.utf8.index(after: q)...]
    }
}
