import CCurl
import Glibc

/// A blocking HTTP/HTTPS client on libcurl.
///
/// Every call blocks its thread until the response is complete: call it from an OS worker thread,
/// never from inside Swift concurrency. Redirects are followed here, not by libcurl, so that each hop
/// passes the policy: at most `maxRedirects`; only to https, or to plain http on a loopback host; only to the
/// request's own origin or one of `redirectOrigins` when those are set; never into a loopback address from an
/// origin that was not loopback itself (judged on the addresses connected to); and never re-sending a body
/// (307, 308) to another origin.
/// Safe to use from many threads at once: each call has its own libcurl handle.
public struct HTTPClient: Sendable {
    /// Limits and trust settings shared by every call of one client.
    public struct Configuration: Sendable {
        /// Time allowed to establish the connection (TCP and TLS).
        public var connectTimeout: Duration
        /// Time allowed for the whole call, redirects included.
        public var totalTimeout: Duration
        /// A transfer that moves no byte for this long fails as timed out (checked about once a second).
        public var idleTimeout: Duration
        /// The largest accepted response body, in bytes, whether kept in memory, streamed to a file or (a redirect's)
        /// dropped: refused from its Content-Length before any of it is read, else as soon as the bytes received cross it.
        public var maxResponseBytes: Int64
        /// How many redirects one call follows before failing with `.tooManyRedirects`.
        public var maxRedirects: Int
        /// A PEM file of CA certificates to trust instead of the system's (e.g. a test CA).
        public var caFile: String?
        /// The User-Agent header sent unless the request sets its own.
        public var userAgent: String
        /// Origins (`scheme://host:port`) a redirect may lead to besides the request's own; nil: any that passes the
        /// scheme rule.
        public var redirectOrigins: Set<String>?

        public init(
            connectTimeout: Duration = .seconds(10),
            totalTimeout: Duration = .seconds(60),
            idleTimeout: Duration = .seconds(30),
            maxResponseBytes: Int64 = 16 << 20,
            maxRedirects: Int = 5,
            caFile: String? = nil,
            userAgent: String = "plugind",
            redirectOrigins: Set<String>? = nil
        ) {
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.idleTimeout = idleTimeout
            self.maxResponseBytes = maxResponseBytes
            self.maxRedirects = maxRedirects
            self.caFile = caFile
            self.userAgent = userAgent
            self.redirectOrigins = redirectOrigins.map { Set($0.compactMap(HTTPClient.origin(of:))) }
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Sends `request` and returns the final response with its body in memory. Non-2xx statuses are responses, not errors.
    public func send(_ request: HTTPClientRequest) throws(HTTPClientError) -> HTTPClientResponse {
        try execute(request, sink: .memory, progress: nil)
    }

    /// Sends `request` and streams a 2xx body into `fileDescriptor` (written from its current offset, not closed).
    /// A non-2xx body is returned in the response instead. `progress` is called on this thread as bytes arrive.
    public func download(
        _ request: HTTPClientRequest,
        to fileDescriptor: Int32,
        progress: ((HTTPDownloadProgress) -> Void)? = nil
    ) throws(HTTPClientError) -> HTTPClientResponse {
        try execute(request, sink: .fileDescriptor(fileDescriptor), progress: progress)
    }

    /// Like `download(_:to:progress:)`, into a file created or truncated at `path` (mode 0644).
    /// The file is removed when the call throws; it is left empty when the final status is not 2xx.
    public func download(
        _ request: HTTPClientRequest,
        toFile path: String,
        progress: ((HTTPDownloadProgress) -> Void)? = nil
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let message = String(cString: strerror(errno))
            throw .other(code: Int(CURLE_WRITE_ERROR.rawValue), reason: "cannot open \(path): \(message)")
        }
        let response: HTTPClientResponse
        do {
            response = try download(request, to: fd, progress: progress)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        guard close(fd) == 0 else {
            let reason = "cannot close \(path): " + String(cString: strerror(errno))
            unlink(path)
            throw .other(code: Int(CURLE_WRITE_ERROR.rawValue), reason: reason)
        }
        return response
    }

    // MARK: - Redirect loop

    /// libcurl's process-wide setup, done exactly once (Swift runs a static initialiser once, thread-safely).
    private static let globalInitResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

    private func execute(
        _ request: HTTPClientRequest,
        sink: CurlTransfer.Sink,
        progress: ((HTTPDownloadProgress) -> Void)?
    ) throws(HTTPClientError) -> HTTPClientResponse {
        guard Self.globalInitResult == CURLE_OK else {
            throw .other(code: Int(Self.globalInitResult.rawValue), reason: "curl_global_init failed")
        }
        guard var currentURL = CurlURL(request.url), currentURL.isHTTPOrHTTPS else {
            throw .protocolNotAllowed(url: Self.scrub(request.url))
        }
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.totalTimeout
        var current = request
        var redirectsFollowed = 0
        let firstURL = currentURL
        // Whether the first hop reached this machine itself (a unix socket or a loopback address).
        var originIsLoopback = true
        while true {
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timedOut(url: Self.scrub(current.url)) }
            var hopLimits = limits(remaining: remaining)
            hopLimits.refuseLoopback = redirectsFollowed > 0 && !originIsLoopback
            let transfer = CurlTransfer(limits: hopLimits, sink: sink, progress: progress)
            let outcome: CurlTransfer.Outcome
            do {
                outcome = try transfer.perform(current)
            } catch .loopbackRefused {
                throw .loopbackRefused(url: Self.scrub(current.url))
            }
            if redirectsFollowed == 0 {
                originIsLoopback = current.unixSocketPath != nil || Loopback.isLoopback(host: outcome.primaryIP)
            }
            guard CurlTransfer.redirectStatuses.contains(outcome.status), let location = outcome.redirectURL else {
                return HTTPClientResponse(
                    status: outcome.status, headers: outcome.headers, body: outcome.body, effectiveURL: outcome.effectiveURL)
            }
            guard redirectsFollowed < configuration.maxRedirects else { throw .tooManyRedirects }
            redirectsFollowed += 1
            guard let target = CurlURL(location), Self.mayRedirect(to: target),
                target.isSameOrigin(as: firstURL) || configuration.redirectOrigins.map({ $0.contains(target.origin) }) ?? true
            else {
                throw .redirectRefused(from: Self.scrub(current.url), to: Self.scrub(location))
            }
            let crossOrigin = !target.isSameOrigin(as: currentURL)
            // A 307 or 308 repeats the request with its body: never to an origin the body was not meant for.
            if crossOrigin && (outcome.status == 307 || outcome.status == 308) && current.body != nil {
                throw .redirectRefused(from: Self.scrub(current.url), to: Self.scrub(location))
            }
            current = Self.redirected(current, status: outcome.status, to: location, crossOrigin: crossOrigin)
            currentURL = target
        }
    }

    /// `scheme://host:port` of a URL (the port explicit), or nil when it does not parse.
    public static func origin(of url: String) -> String? {
        CurlURL(url)?.origin
    }

    /// The policy: https anywhere, plain http only to this machine.
    private static func mayRedirect(to target: CurlURL) -> Bool {
        target.scheme == "https" || (target.scheme == "http" && target.isLoopback)
    }

    /// The request for the next hop, with the method rewritten as browsers do and credentials kept to their origin.
    private static func redirected(
        _ request: HTTPClientRequest, status: Int, to location: String, crossOrigin: Bool
    ) -> HTTPClientRequest {
        var next = request
        next.url = location
        let method = request.method.uppercased()
        if (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST") {
            next.method = "GET"
            next.body = nil
            next.headers.removeAll { ["content-type", "content-length"].contains($0.name.lowercased()) }
        }
        if crossOrigin {
            next.headers.removeAll { ["authorization", "proxy-authorization", "cookie"].contains($0.name.lowercased()) }
            next.unixSocketPath = nil
        }
        return next
    }

    private func limits(remaining: Duration) -> CurlTransfer.Limits {
        CurlTransfer.Limits(
            connectTimeoutMilliseconds: configuration.connectTimeout.millisecondsRoundedUp,
            totalTimeoutMilliseconds: remaining.millisecondsRoundedUp,
            idleTimeout: configuration.idleTimeout,
            maxResponseBytes: configuration.maxResponseBytes,
            caFile: configuration.caFile,
            userAgent: configuration.userAgent)
    }

    private static func scrub(_ url: String) -> String {
        SecretScrubber().scrub(url)
    }
}

/// How far a download has come: bytes of the final response body so far and, when announced, the total.
public struct HTTPDownloadProgress: Sendable, Equatable {
    public var receivedBytes: Int64
    public var expectedBytes: Int64?

    public init(receivedBytes: Int64, expectedBytes: Int64?) {
        self.receivedBytes = receivedBytes
        self.expectedBytes = expectedBytes
    }
}

extension Duration {
    /// Whole milliseconds, rounded up and at least 1, as libcurl's *_MS options take them.
    fileprivate var millisecondsRoundedUp: Int {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, min(milliseconds, Int64(Int32.max))))
    }
}
