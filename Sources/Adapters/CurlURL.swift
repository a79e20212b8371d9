import CCurl
import Glibc

/// The parts of a URL that the redirect policy needs, parsed by libcurl itself so the policy and the transfer agree.
struct CurlURL: Equatable {
    /// Lowercased scheme, e.g. "https".
    let scheme: String
    /// Lowercased host as libcurl normalises it (IPv6 without brackets).
    let host: String
    /// The explicit port, or the scheme's default.
    let port: Int

    init?(_ string: String) {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        // Unknown schemes must still parse, so that they are refused by policy rather than by accident.
        guard curl_url_set(handle, CURLUPART_URL, string, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK,
              let scheme = Self.part(handle, CURLUPART_SCHEME),
              let host = Self.part(handle, CURLUPART_HOST)
        else { return nil }
        self.scheme = scheme.lowercased()
        var bareHost = host.lowercased()
        if bareHost.hasPrefix("[") && bareHost.hasSuffix("]") {
            bareHost = String(bareHost.dropFirst().dropLast())
        }
        self.host = bareHost
        self.port = Self.part(handle, CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)).flatMap { Int($0) } ?? 0
    }

    /// `scheme://host:port`, the port always explicit.
    var origin: String {
        "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Whether the scheme is one the client speaks.
    var isHTTPOrHTTPS: Bool {
        scheme == "http" || scheme == "https"
    }

    /// Whether the host is loopback: `localhost`, 127.0.0.0/8, `::1` (or its IPv4-mapped 127/8 form).
    var isLoopback: Bool { Loopback.isLoopback(host: host) }

    /// Whether both URLs address the same origin (scheme, host and port), which decides what a redirect may carry along.
    func isSameOrigin(as other: CurlURL) -> Bool {
        self == other
    }

    private static func part(_ handle: OpaquePointer, _ part: CURLUPart, flags: UInt32 = 0) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, part, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
