import CFastCGI
import Foundation
import Glibc
import HTTPKit
import JSON
import Logging
import Synchronization

/// The FastCGI responder: a fixed pool of OS threads, each with one libfcgi request struct
/// allocated once and never moved, taking turns in `FCGX_Accept_r`.
public final class FastCGIServer: Sendable {
    public struct Options: Sendable {
        public var threads: Int = 16
        /// Each worker's stack; Swift code on deep JSON needs more than the default.
        public var stackBytes: Int = 4 << 20
        public var maxBodyBytes: Int = 1 << 20
        /// How long requests in flight may take to finish after SIGTERM.
        public var drainTimeout: Duration = .seconds(30)
        public init() {}
    }

    public typealias Responder = @Sendable (HTTPRequest) -> HTTPResponse

    private let listener: Listener
    private let options: Options
    private let responder: Responder
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let waitingInAccept = Atomic<Int>(0)
    private let running = Atomic<Int>(0)
    /// Workers between accepting a request and finishing its answer.
    private let busy = Atomic<Int>(0)
    /// Proves a wake-up request came from this process, not a client.
    private let wakeNonce: String

    private static let libraryInit: Int32 = FCGX_Init()

    public init(source: ListenSource, options: Options, logger: Logger, responder: @escaping Responder) throws {
        precondition(options.threads > 0)
        guard Self.libraryInit == 0 else { throw ListenError(description: "FCGX_Init failed (\(Self.libraryInit)).") }
        self.listener = try Listener.open(source)
        self.options = options
        self.logger = logger
        self.responder = responder
        self.wakeNonce = RequestID.make() + RequestID.make()
    }

    /// Workers answering a request now (for the metrics: how close the pool is to full).
    public var busyWorkers: Int { busy.load(ordering: .relaxed) }

    /// The size of the worker pool.
    public var workers: Int { options.threads }

    /// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so only `run()`'s
    /// sigwait sees them (libfcgi's own handlers would swallow SIGTERM). Call first thing at start,
    /// so a stop that arrives while plugind is still opening its stores waits for the drain.
    public static func holdStopSignals() {
        signal(SIGPIPE, SIG_IGN)
        var stopSignals = stopSignalSet()
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
    }

    static func stopSignalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    public func run() {
        Self.holdStopSignals()
        var stopSignals = Self.stopSignalSet()

        running.store(options.threads, ordering: .sequentiallyConsistent)
        for index in 0..<options.threads {
            let thread = Thread { [self] in self.work(index: index) }
            thread.stackSize = options.stackBytes
            thread.start()
        }
        logger.info("listening", metadata: ["fd": "\(listener.fd)", "threads": "\(options.threads)"])

        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        logger.info("stopping: no new requests; finishing those in flight", metadata: ["signal": "\(received)"])
        stop()
    }

    /// Stops accepting, lets requests in flight finish (bounded), removes a socket it created.
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        // A socket plugind created is shut down, which wakes every worker waiting in accept at once, even when
        // its file is gone and connecting to it cannot. A socket handed over by systemd or a spawner stays open
        // for the next process: its waiting workers are woken by connecting to it (`wakeOneWorker`).
        if listener.createdPath != nil { _ = shutdown(listener.fd, Int32(SHUT_RDWR)) }
        let deadline = ContinuousClock.now + options.drainTimeout
        while running.load(ordering: .sequentiallyConsistent) > 0 && ContinuousClock.now < deadline {
            if waitingInAccept.load(ordering: .sequentiallyConsistent) > 0 {
                wakeOneWorker()
            } else {
                usleep(10_000)
            }
        }
        let left = running.load(ordering: .sequentiallyConsistent)
        if left > 0 { logger.warning("drain timeout: \(left) worker(s) still busy") }
        if let path = listener.createdPath {
            unlink(path)
            close(listener.fd)
        }
    }

    private func work(index: Int) {
        plugind_name_current_thread("fcgi-\(index)")
        defer { running.subtract(1, ordering: .sequentiallyConsistent) }
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        // No listening socket for libfcgi: connections come from `acceptConnection` only. When libfcgi
        // cannot read a request it closes the connection and would accept the next one itself; with no
        // socket that accept fails at once and the loop below takes the next connection as usual.
        guard FCGX_InitRequest(request, -1, 0) == 0 else {
            logger.error("FCGX_InitRequest failed")
            return
        }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            // A connection the web server kept (FCGI_KEEP_CONN) brings its next request itself.
            let read: Bool
            if request.pointee.ipcFd >= 0 && awaitNextRequest(onKept: request) {
                read = FCGX_Accept_r(request) >= 0
            } else {
                // Counted as waiting until the request is read: a stop wakes workers by connecting.
                waitingInAccept.add(1, ordering: .sequentiallyConsistent)
                defer { waitingInAccept.subtract(1, ordering: .sequentiallyConsistent) }
                let fd = acceptConnection()
                if fd < 0 {
                    if stopping.load(ordering: .sequentiallyConsistent) { break }
                    logger.error("accept failed", metadata: ["errno": "\(-fd)"])
                    usleep(50_000)
                    continue
                }
                // With `ipcFd` set, `FCGX_Accept_r` reads the request from this connection; with
                // `keepConnection` set, the finish it does first leaves the descriptor open.
                request.pointee.ipcFd = fd
                request.pointee.keepConnection = 1
                read = FCGX_Accept_r(request) >= 0
            }
            guard read else { continue }  // a request libfcgi could not read; it closed the connection
            // A peer that hung up before sending all its parameters leaves a protocol error behind.
            if FCGX_GetError(request.pointee.in) != 0 {
                FCGX_Finish_r(request)
                continue
            }
            let params = CGIParameters(request.pointee.envp)
            if let wake = params.wake, wake == wakeNonce {
                FCGX_PutS("Status: 204 No Content\r\n\r\n", request.pointee.out)
                FCGX_Finish_r(request)
                break
            }
            busy.add(1, ordering: .relaxed)
            handle(request, params: params)
            finish(request)
            busy.subtract(1, ordering: .relaxed)
        }
        FCGX_Free(request, 1)
    }

    /// Takes the next connection: its descriptor, or minus the error number. Every worker waits in
    /// `accept4` at once, without a lock: Linux wakes one waiter per connection. libfcgi's own accept
    /// has to be called under one lock shared by all workers (its examples serialise it), and on a
    /// unix socket it waits in `select` for the first bytes before returning. The connection is
    /// close-on-exec, so a child started while a request is in flight cannot inherit it.
    private func acceptConnection() -> Int32 {
        while true {
            let fd = plugind_accept_cloexec(listener.fd)
            if fd >= 0 {
                if listener.isTCP {
                    var on: Int32 = 1  // answers are written whole; do not hold the last segment back
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                }
                return fd
            }
            let failure = errno
            if stopping.load(ordering: .sequentiallyConsistent) { return -failure }
            switch failure {
            case EINTR, ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH:
                continue  // a signal, or a connection gone before it was taken: wait for the next
            case EAGAIN, EWOULDBLOCK:
                // A listening socket handed over in non-blocking mode: wait for a connection.
                var watched = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&watched, 1, 500)
            default:
                return -failure
            }
        }
    }

    /// Waits until the web server sends the next request on a connection it kept. false, with the
    /// connection closed, when the web server closed it or plugind is stopping: the worker then goes
    /// back to accepting new connections.
    private func awaitNextRequest(onKept request: UnsafeMutablePointer<FCGX_Request>) -> Bool {
        let fd = request.pointee.ipcFd
        var watched = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let ready = poll(&watched, 1, 500)
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            var byte: UInt8 = 0
            if ready > 0 && recv(fd, &byte, 1, Int32(MSG_PEEK)) == 1 { return true }
            break  // closed by the web server, or broken
        }
        close(fd)
        request.pointee.ipcFd = -1
        return false
    }

    private func handle(_ request: UnsafeMutablePointer<FCGX_Request>, params: CGIParameters) {
        let declared = params.contentLength.flatMap(Int.init)
        guard let (body, tooLarge) = readBody(request.pointee.in, declaredLength: declared) else {
            return  // the peer went away mid-body: nobody to answer, and a partial body must not act
        }
        guard let text = params.method, let uri = params.uri, !text.isEmpty, uri.hasPrefix("/") else {
            logger.warning("a FastCGI request without REQUEST_METHOD or REQUEST_URI; check the fastcgi_params")
            write(HTTPResponse(status: .badRequest, headers: [("Content-Type", HTTPResponse.jsonContentType)],
                               body: Array(#"{"error":"The front end sent no request method or URI."}"#.utf8)), to: request)
            return
        }
        guard let method = HTTPMethod(frontEnd: text) else {
            logger.warning("a FastCGI request whose REQUEST_METHOD is not an HTTP token", metadata: ["method": "\(text.prefix(32).debugDescription)"])
            write(HTTPResponse(status: .badRequest, headers: [("Content-Type", HTTPResponse.jsonContentType)],
                               body: Array(#"{"error":"The front end sent a request method that is not an HTTP token."}"#.utf8)), to: request)
            return
        }
        let value = HTTPRequest(
            method: method, uri: uri, headers: params.headers, body: body, bodyTooLarge: tooLarge,
            remoteAddress: params.remoteAddress ?? "", origin: params.origin, frontEndRequestId: params.frontEndRequestId)
        let response = responder(value)
        write(response, to: request)
    }

    /// Ends a request the way `FCGX_Finish_r` does, without its lingering close when nothing is left to
    /// read. libfcgi half-closes the connection and then waits in `poll` until the web server closes its
    /// end, so that unread input cannot turn the close into a reset that loses the response. Once the
    /// request's stdin has been read to its end record, the web server sends nothing more (it has no
    /// keep-alive here), so the connection is closed at once: the response is already queued to the peer
    /// and a close without unread input is an orderly one. That saves three system calls and a sleep and
    /// wake-up per request. Anything else (a kept connection, input not read to its end, a stream error)
    /// goes through libfcgi's own close.
    private func finish(_ request: UnsafeMutablePointer<FCGX_Request>) {
        let fd = request.pointee.ipcFd
        guard request.pointee.keepConnection == 0, fd >= 0, let input = request.pointee.in,
            FCGX_HasSeenEOF(input) != 0, FCGX_GetError(input) == 0
        else {
            FCGX_Finish_r(request)
            return
        }
        _ = FCGX_FClose(request.pointee.err)
        _ = FCGX_FClose(request.pointee.out)  // writes the end-request record
        FCGX_Free(request, 0)  // frees the streams and parameters, leaves the connection open
        close(fd)
        request.pointee.ipcFd = -1
    }

    /// Reads the body up to the limit; a larger one is drained unkept so the peer sees a clean answer.
    /// nil when the peer hung up before the whole body arrived.
    private func readBody(_ stream: UnsafeMutablePointer<FCGX_Stream>?, declaredLength: Int?) -> ([UInt8], Bool)? {
        let limit = options.maxBodyBytes
        if let declared = declaredLength, declared > limit {
            drain(stream, upTo: 64 << 20)
            return ([], true)
        }
        guard let declaredLength else { return readUndeclared(stream, limit: limit) }
        let declared = max(declaredLength, 0)
        var body = [UInt8](repeating: 0, count: declared)
        var filled = 0
        while filled < declared {
            let n = body.withUnsafeMutableBufferPointer { buffer in
                (buffer.baseAddress! + filled).withMemoryRebound(to: CChar.self, capacity: declared - filled) {
                    FCGX_GetStr($0, Int32(declared - filled), stream)
                }
            }
            if n <= 0 { break }
            filled += Int(n)
        }
        body.removeSubrange(filled...)
        if FCGX_GetError(stream) != 0 || filled < declared { return nil }
        // Reads the end of stdin, so the connection can be closed without lingering (see `finish`).
        _ = FCGX_GetChar(stream)
        return (body, false)
    }

    /// A body sent without CONTENT_LENGTH (not nginx, which always declares it): read to the end
    /// through a stack buffer, refused past the limit.
    private func readUndeclared(_ stream: UnsafeMutablePointer<FCGX_Stream>?, limit: Int) -> ([UInt8], Bool)? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16 << 10) { buffer -> ([UInt8], Bool)? in
            var body: [UInt8] = []
            while true {
                let n = FCGX_GetStr(buffer.baseAddress!, Int32(buffer.count), stream)
                if n <= 0 { break }
                body.append(contentsOf: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(n)))
                if body.count > limit {
                    drain(stream, upTo: 64 << 20)
                    return ([], true)
                }
            }
            return FCGX_GetError(stream) != 0 ? nil : (body, false)
        }
    }

    private func drain(_ stream: UnsafeMutablePointer<FCGX_Stream>?, upTo cap: Int) {
        var chunk = [CChar](repeating: 0, count: 64 << 10)
        var total = 0
        while total < cap {
            let n = FCGX_GetStr(&chunk, Int32(chunk.count), stream)
            if n <= 0 { return }
            total += Int(n)
        }
    }

    /// CGI response: a `Status:` header, never an `HTTP/1.1` line.
    private func write(_ response: HTTPResponse, to request: UnsafeMutablePointer<FCGX_Request>) {
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head.append(contentsOf: "Status: ".utf8)
        ASCIIDigits.append(Int64(response.status.code), to: &head)
        head.append(0x20)
        head.append(contentsOf: response.status.statusLineReason.utf8)
        head.append(contentsOf: "\r\n".utf8)
        for (name, value) in response.headers {
            head.append(contentsOf: name.utf8)
            head.append(contentsOf: ": ".utf8)
            // A header must not be able to split the response.
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
                for byte in value.utf8 where byte != 0x0D && byte != 0x0A { head.append(byte) }
            } else {
                head.append(contentsOf: value.utf8)
            }
            head.append(contentsOf: "\r\n".utf8)
        }
        if response.header("Content-Length") == nil && response.status != .noContent && response.status != .notModified {
            head.append(contentsOf: "Content-Length: ".utf8)
            ASCIIDigits.append(Int64(response.body.count), to: &head)
            head.append(contentsOf: "\r\n".utf8)
        }
        head.append(contentsOf: "\r\n".utf8)
        // A client that went away makes these fail; nothing else to do about it.
        if head.count + response.body.count <= StdoutRecords.bufferedLimit {
            // libfcgi buffers it and writes it with the records that end the request: one write(2) in all.
            Self.put(head, to: request.pointee.out)
            if !response.body.isEmpty { Self.put(response.body, to: request.pointee.out) }
        } else {
            _ = StdoutRecords.send(head: head, body: response.body, requestId: UInt16(truncatingIfNeeded: request.pointee.requestId),
                                   to: request.pointee.ipcFd)
        }
    }

    private static func put(_ bytes: [UInt8], to stream: UnsafeMutablePointer<FCGX_Stream>?) {
        _ = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                FCGX_PutStr($0, Int32(buffer.count), stream)
            }
        }
    }

    /// Sends one well-formed FastCGI request to our own socket so a worker blocked in accept returns.
    private func wakeOneWorker() {
        guard let fd = listener.connectToSelf() else {
            usleep(10_000)
            return
        }
        defer { close(fd) }
        let message = FastCGIRecords.wakeRequest(nonce: wakeNonce)
        _ = message.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        var sink = [UInt8](repeating: 0, count: 512)
        while Glibc.read(fd, &sink, sink.count) > 0 {}
    }
}

/// The few FastCGI records plugind writes itself (web-server side), per the FastCGI 1.0 spec.
enum FastCGIRecords {
    /// A record's 8-byte header (FCGI_VERSION_1).
    static func header(type: UInt8, requestId: UInt16, contentLength: Int, padding: Int = 0) -> [UInt8] {
        [1, type, UInt8(requestId >> 8), UInt8(requestId & 0xFF), UInt8(contentLength >> 8), UInt8(contentLength & 0xFF), UInt8(padding), 0]
    }

    static func record(type: UInt8, requestId: UInt16 = 1, content: [UInt8]) -> [UInt8] {
        let padding = (8 - content.count % 8) % 8
        var bytes = header(type: type, requestId: requestId, contentLength: content.count, padding: padding)
        bytes += content
        bytes += [UInt8](repeating: 0, count: padding)
        return bytes
    }

    static func nameValue(_ name: String, _ value: String) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] {
            n < 128 ? [UInt8(n)] : [UInt8((n >> 24) | 0x80), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
        return length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
    }

    static func wakeRequest(nonce: String) -> [UInt8] {
        let begin = record(type: 1, content: [0, 1, 0, 0, 0, 0, 0, 0])  // FCGI_RESPONDER, no keep-alive
        let params = nameValue("PLUGIND_WAKE", nonce) + nameValue("REQUEST_METHOD", "GET") + nameValue("REQUEST_URI", "/")
        return begin + record(type: 4, content: params) + record(type: 4, content: []) + record(type: 5, content: [])
    }
}

