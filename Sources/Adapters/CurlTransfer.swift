import CCurl
import Glibc

/// One libcurl easy transfer: a single request and response, no redirect following. Lives on one thread.
final class CurlTransfer {
    /// Where a 2xx body goes; other bodies (errors) are always kept in memory.
    enum Sink {
        case memory
        case fileDescriptor(Int32)
    }

    /// What one hop produced.
    struct Outcome {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var effectiveURL: String
        /// Where a 3xx response points, already resolved against the request URL by libcurl.
        var redirectURL: String?
        /// The address connected to (empty for a unix socket).
        var primaryIP: String
    }

    /// The per-hop settings that `HTTPClient` derives from its configuration and the remaining time.
    struct Limits {
        var connectTimeoutMilliseconds: Int
        var totalTimeoutMilliseconds: Int
        var idleTimeout: Duration
        var maxResponseBytes: Int64
        var caFile: String?
        var userAgent: String
        /// Refuse to connect to a loopback address, whatever name led to it (a redirect from elsewhere).
        var refuseLoopback = false
    }

    private let limits: Limits
    private let sink: Sink
    private let progress: ((HTTPDownloadProgress) -> Void)?

    private var status = 0
    private var headers: [(name: String, value: String)] = []
    private var body: [UInt8] = []
    private var receivedBytes: Int64 = 0
    private var exceededLimit = false
    private var sinkErrno: Int32 = 0
    private let clock = ContinuousClock()
    private var lastActivity: ContinuousClock.Instant
    private var lastCounts: (received: Int64, sent: Int64) = (0, 0)
    private var idleExpired = false
    private var loopbackRefused = false

    init(limits: Limits, sink: Sink, progress: ((HTTPDownloadProgress) -> Void)?) {
        self.limits = limits
        self.sink = sink
        self.progress = progress
        self.lastActivity = clock.now
    }

    /// Runs the request once; its URL has already passed the client's policy.
    func perform(_ request: HTTPClientRequest) throws(HTTPClientError) -> Outcome {
        // Declared before the handle so that they outlive curl_easy_cleanup, which may still use them.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        guard let handle = curl_easy_init() else {
            throw .other(code: Int(CURLE_FAILED_INIT.rawValue), reason: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(handle) }

        try configure(handle, for: request, errorBuffer: errorBuffer, headerList: &headerList)
        let code = curl_easy_perform(handle)
        if code != CURLE_OK {
            throw error(for: code, url: request.url, message: String(cString: errorBuffer))
        }

        var responseCode = 0
        _ = plugind_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &responseCode)
        var effective: UnsafeMutablePointer<CChar>?
        _ = plugind_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        var redirect: UnsafeMutablePointer<CChar>?
        _ = plugind_curl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &redirect)
        var primary: UnsafeMutablePointer<CChar>?
        _ = plugind_curl_getinfo_string(handle, CURLINFO_PRIMARY_IP, &primary)
        return Outcome(
            status: responseCode,
            headers: headers,
            body: body,
            effectiveURL: effective.map { String(cString: $0) } ?? request.url,
            redirectURL: redirect.map { String(cString: $0) },
            primaryIP: primary.map { String(cString: $0) } ?? "")
    }

    // MARK: - Options

    private func configure(
        _ handle: UnsafeMutableRawPointer,
        for request: HTTPClientRequest,
        errorBuffer: UnsafeMutablePointer<CChar>,
        headerList: inout UnsafeMutablePointer<curl_slist>?
    ) throws(HTTPClientError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(plugind_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try check(plugind_curl_setopt_string(handle, CURLOPT_URL, request.url))
        // Signals would be delivered to arbitrary threads of a multi-threaded server; timeouts work without them.
        try check(plugind_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(plugind_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        try check(plugind_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        // HTTPClient follows redirects itself so that every hop passes its policy.
        try check(plugind_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        try check(plugind_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, limits.connectTimeoutMilliseconds))
        try check(plugind_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, limits.totalTimeoutMilliseconds))
        try check(plugind_curl_setopt_off(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limits.maxResponseBytes)))
        try check(plugind_curl_setopt_string(handle, CURLOPT_USERAGENT, limits.userAgent))
        if let caFile = limits.caFile {
            try check(plugind_curl_setopt_string(handle, CURLOPT_CAINFO, caFile))
        }
        if let socketPath = request.unixSocketPath {
            try check(plugind_curl_setopt_string(handle, CURLOPT_UNIX_SOCKET_PATH, socketPath))
            // A proxy from the environment must not divert a local socket request.
            try check(plugind_curl_setopt_string(handle, CURLOPT_PROXY, ""))
        }
        try configureMethodAndBody(handle, for: request)
        headerList = try Self.headerList(for: request)
        try check(plugind_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))

        try check(plugind_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context))
        try check(plugind_curl_setopt_data_cb(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
        })
        try check(plugind_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context))
        try check(plugind_curl_setopt_data_cb(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
        // Judged on the address actually connected to, after name resolution, not on the URL's host text.
        if limits.refuseLoopback {
            try check(plugind_curl_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, context))
            try check(plugind_curl_setopt_opensocket_cb(handle, CURLOPT_OPENSOCKETFUNCTION) { context, _, address in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
                guard let address else { return CURL_SOCKET_BAD }
                if CurlTransfer.isLoopback(address) {
                    transfer.loopbackRefused = true
                    return CURL_SOCKET_BAD
                }
                return socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
            })
        }
        // The progress callback runs at least once a second even when nothing moves, which makes it the idle clock.
        try check(plugind_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0))
        try check(plugind_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context))
        try check(plugind_curl_setopt_xferinfo_cb(handle, CURLOPT_XFERINFOFUNCTION) { context, total, received, _, sent in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            return transfer.onProgress(received: Int64(received), expected: Int64(total), sent: Int64(sent)) ? 0 : 1
        })
    }

    private func configureMethodAndBody(
        _ handle: UnsafeMutableRawPointer, for request: HTTPClientRequest
    ) throws(HTTPClientError) {
        let method = request.method.uppercased()
        if method == "HEAD" {
            try check(plugind_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
            return
        }
        if let body = request.body {
            try check(plugind_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            if body.isEmpty {
                try check(plugind_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                // COPYPOSTFIELDS copies the bytes, so the pointer need not outlive this call.
                let code = body.withUnsafeBytes {
                    plugind_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress))
                }
                try check(code)
            }
        }
        if method != "GET" || request.body != nil {
            try check(plugind_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
        }
    }

    private static func headerList(
        for request: HTTPClientRequest
    ) throws(HTTPClientError) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        var lines: [String] = []
        for (name, value) in request.headers {
            // Checked on bytes: "\r\n" is a single Character in Swift and would slip past a Character test.
            let isClean = !name.isEmpty && !name.contains(":")
                && !(name + value).utf8.contains { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") || $0 == 0 }
            guard isClean else {
                throw .other(
                    code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue), reason: "invalid request header \(name.debugDescription)")
            }
            // libcurl's syntax for sending a header with an empty value is "Name;".
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // libcurl would otherwise wait for "100 Continue" before sending large bodies.
        if request.body != nil && !request.headers.contains(where: { $0.name.lowercased() == "expect" }) {
            lines.append("Expect:")
        }
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw .other(code: Int(CURLE_OUT_OF_MEMORY.rawValue), reason: "curl_slist_append failed")
            }
            list = appended
        }
        return list
    }

    private func check(_ code: CURLcode) throws(HTTPClientError) {
        guard code == CURLE_OK else {
            let message = String(cString: curl_easy_strerror(code))
            throw .other(code: Int(code.rawValue), reason: "setting a libcurl option failed: \(message)")
        }
    }

    // MARK: - Callbacks

    /// Statuses that `HTTPClient` follows when they carry a Location header.
    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    /// Whether the response being received is one that will be followed, so its body is nobody's data.
    private var isRedirectResponse: Bool {
        Self.redirectStatuses.contains(status) && headers.contains { $0.name.lowercased() == "location" }
    }

    /// Keeps, streams or (a redirect's) drops a body chunk; returning less than the chunk's size makes libcurl abort with
    /// CURLE_WRITE_ERROR. A Content-Length over the limit never gets here: CURLOPT_MAXFILESIZE refuses it from the head.
    private func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Int {
        receivedBytes += Int64(chunk.count)
        // Servers may omit Content-Length, so CURLOPT_MAXFILESIZE alone cannot enforce the limit. A redirect's body is
        // counted too: nobody keeps it, but an endless one would otherwise be read until the deadline.
        guard receivedBytes <= limits.maxResponseBytes else {
            exceededLimit = true
            return 0
        }
        if isRedirectResponse { return chunk.count }
        if case .fileDescriptor(let fd) = sink, (200..<300).contains(status) {
            guard Self.writeAll(chunk, to: fd) else {
                sinkErrno = errno
                return 0
            }
        } else {
            keep(chunk)
        }
        return chunk.count
    }

    /// Appends to the in-memory body, its storage never larger than the limit: the announced length in one allocation
    /// when there is one, else doubling up to the limit (Array's own growth would double past it).
    private func keep(_ chunk: UnsafeRawBufferPointer) {
        let needed = body.count + chunk.count
        if body.capacity < needed {
            let announced = headers.last { $0.name.lowercased() == "content-length" }.flatMap { Int64($0.value) }
            let wanted = max(Int64(needed), announced ?? Int64(max(body.capacity * 2, 16 << 10)))
            body.reserveCapacity(Int(min(wanted, limits.maxResponseBytes)))
        }
        body.append(contentsOf: chunk)
    }

    /// Collects the headers of the last response; a status line starts a new response (after 1xx or proxy CONNECT).
    private func receiveHeaderLine(_ raw: UnsafeRawBufferPointer) {
        var line = String(decoding: raw, as: UTF8.self)
        while line.last == "\n" || line.last == "\r" || line.last == "\r\n" { line.removeLast() }
        if line.hasPrefix("HTTP/") {
            headers = []
            let fields = line.split(separator: " ", maxSplits: 2)
            status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
            receivedBytes = 0
            body = []
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingBlanks()
        let value = line[line.index(after: colon)...].trimmingBlanks()
        headers.append((name: String(name), value: String(value)))
    }

    /// Tracks activity for the idle timeout and reports download progress; false aborts the transfer.
    /// (libcurl's own low-speed check averages over several seconds, so it cannot say "no byte for N seconds".)
    private func onProgress(received: Int64, expected: Int64, sent: Int64) -> Bool {
        let now = clock.now
        if (received, sent) != lastCounts {
            lastCounts = (received, sent)
            lastActivity = now
        } else if lastActivity.duration(to: now) >= limits.idleTimeout {
            idleExpired = true
            return false
        }
        if let progress, !isRedirectResponse, status != 0 {
            progress(HTTPDownloadProgress(receivedBytes: received, expectedBytes: expected > 0 ? expected : nil))
        }
        return true
    }

    /// 127.0.0.0/8, ::1, or a v4-mapped 127/8 address.
    private static func isLoopback(_ address: UnsafeMutablePointer<curl_sockaddr>) -> Bool {
        withUnsafeMutablePointer(to: &address.pointee.addr) { raw -> Bool in
            switch Int32(raw.pointee.sa_family) {
            case AF_INET:
                return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) >> 24 == 127 }
            case AF_INET6:
                return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    let bytes = withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) }
                    if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
                    return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
                }
            default:
                return false
            }
        }
    }

    private static func writeAll(_ chunk: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        var offset = 0
        while offset < chunk.count {
            let written = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    // MARK: - Errors

    private func error(for code: CURLcode, url: String, message: String) -> HTTPClientError {
        let reason = message.isEmpty ? String(cString: curl_easy_strerror(code)) : message
        let url = SecretScrubber().scrub(url)
        if loopbackRefused { return .loopbackRefused(url: url) }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(url: url)
        case CURLE_ABORTED_BY_CALLBACK where idleExpired:
            return .timedOut(url: url)
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT:
            return .connectFailed(url: url, reason: reason)
        case CURLE_FILESIZE_EXCEEDED:
            return .tooLarge(limit: limits.maxResponseBytes)
        case CURLE_WRITE_ERROR where exceededLimit:
            return .tooLarge(limit: limits.maxResponseBytes)
        case CURLE_WRITE_ERROR where sinkErrno != 0:
            let message = String(cString: strerror(sinkErrno))
            return .other(code: Int(code.rawValue), reason: "writing the response body failed: \(message)")
        case CURLE_UNSUPPORTED_PROTOCOL:
            return .protocolNotAllowed(url: url)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return .tls(reason: reason)
        default:
            return .other(code: Int(code.rawValue), reason: reason)
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingBlanks() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
