/// Why an `HTTPClient` call produced no response. URLs in descriptions never show credentials.
public enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connect, idle or total timeout expired.
    case timedOut(url: String)
    /// The host could not be resolved or reached.
    case connectFailed(url: String, reason: String)
    /// The response body exceeded the configured limit, in bytes.
    case tooLarge(limit: Int64)
    /// The URL's scheme is not http or https, or the URL cannot be parsed.
    case protocolNotAllowed(url: String)
    /// A redirect pointed somewhere the policy forbids (plain http to a non-loopback host, or another scheme).
    case redirectRefused(from: String, to: String)
    /// A redirect from a non-loopback origin led to a loopback address (judged after name resolution).
    case loopbackRefused(url: String)
    /// The server redirected more often than the configured maximum.
    case tooManyRedirects
    /// The TLS handshake or certificate verification failed.
    case tls(reason: String)
    /// Any other libcurl or local failure, with libcurl's error code (or a local one) and its message.
    case other(code: Int, reason: String)

    public var description: String {
        switch self {
        case .timedOut(let url):
            return "timed out: \(Self.clean(url))"
        case .connectFailed(let url, let reason):
            return "cannot connect to \(Self.clean(url)): \(Self.clean(reason))"
        case .tooLarge(let limit):
            return "response larger than \(limit) bytes"
        case .protocolNotAllowed(let url):
            return "protocol not allowed (only http and https): \(Self.clean(url))"
        case .redirectRefused(let from, let to):
            return "redirect refused from \(Self.clean(from)) to \(Self.clean(to))"
        case .loopbackRefused(let url):
            return "redirect refused: \(Self.clean(url)) leads into this machine's loopback from outside"
        case .tooManyRedirects:
            return "too many redirects"
        case .tls(let reason):
            return "TLS failure: \(Self.clean(reason))"
        case .other(let code, let reason):
            return "HTTP client error \(code): \(Self.clean(reason))"
        }
    }

    /// Removes URL credentials and token patterns from text that goes into a description.
    private static func clean(_ text: String) -> String {
        SecretScrubber().scrub(text)
    }
}
