/// One HTTP request for `HTTPClient`.
public struct HTTPClientRequest: Sendable {
    /// The method, sent as given ("GET", "POST", …).
    public var method: String
    /// An absolute http or https URL; for a unix-socket target, its path and query are what matter.
    public var url: String
    /// Request headers, sent in order; names and values must not contain CR or LF.
    public var headers: [(name: String, value: String)]
    /// The request body; nil sends none.
    public var body: [UInt8]?
    /// When set, the request goes over this unix socket instead of TCP (the URL's host becomes only the Host header).
    public var unixSocketPath: String?

    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        unixSocketPath: String? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.unixSocketPath = unixSocketPath
    }

    /// A request for `path` (and query) at a service address written either `unix:/path/to/sock`
    /// or as a base URL such as `http://127.0.0.1:8080` (the runtime bridge's two forms).
    public init(
        endpoint: String,
        path: String,
        method: String = "GET",
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil
    ) {
        let urlPath = path.hasPrefix("/") ? path : "/" + path
        if endpoint.hasPrefix("unix:") {
            self.init(
                method: method, url: "http://localhost" + urlPath, headers: headers, body: body,
                unixSocketPath: String(endpoint.dropFirst("unix:".count)))
        } else {
            var base = Substring(endpoint)
            while base.hasSuffix("/") { base = base.dropLast() }
            self.init(method: method, url: base + urlPath, headers: headers, body: body)
        }
    }
}
