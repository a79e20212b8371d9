import Foundation
import Glibc
import Synchronization

/// A tiny blocking HTTP/1.1 server for tests: on 127.0.0.1 (a free port) or a unix socket, one thread per connection.
public final class LoopbackServer: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public enum Reply: Sendable {
        /// A complete response with Content-Length.
        case respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
        /// Bytes written as they are, then the connection is closed.
        case raw([UInt8])
        /// Bytes written, then nothing more until the client gives up.
        case stall(after: [UInt8] = [])
        /// `head` written, then `chunk` again and again (a short pause after each, so the client keeps up and the
        /// kernel's buffers stay nearly empty) until `total` body bytes are out or the client has left; `sent` learns how
        /// many body bytes the connection took. With `holdBody`, no body byte goes out until the client has left or that
        /// long has passed: a client that refuses from the head alone leaves `sent` at 0.
        case stream(head: [UInt8], chunk: [UInt8], total: Int, holdBody: Duration = .zero, sent: @Sendable (Int) -> Void)
    }

    public struct Failure: Error {
        let call: String
        let code: Int32
    }

    public let port: UInt16
    public let socketPath: String?
    private let listenFD: Int32
    private let stopped = Mutex(false)

    public var baseURL: String {
        "http://127.0.0.1:\(port)"
    }

    /// Starts listening; `handler` runs on the connection's thread.
    public init(unixSocketPath: String? = nil, handler: @escaping @Sendable (Request) -> Reply) throws {
        let family = unixSocketPath == nil ? AF_INET : AF_UNIX
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }
        if let unixSocketPath {
            unlink(unixSocketPath)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(unixSocketPath.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes + [0])
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw Failure(call: "bind", code: errno) }
            self.port = 0
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else { throw Failure(call: "bind", code: errno) }
            self.port = UInt16(bigEndian: address.sin_port)
        }
        guard listen(fd, 64) == 0 else { throw Failure(call: "listen", code: errno) }
        self.listenFD = fd
        self.socketPath = unixSocketPath
        Thread.detachNewThread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    // stop() shut the socket down; closing it only here keeps its number from being reused under us.
                    close(fd)
                    return
                }
                Thread.detachNewThread { Self.serve(connection, handler: handler) }
            }
        }
    }

    /// A port on 127.0.0.1 where nothing listens.
    public static func closedPort() throws -> UInt16 {
        let server = try LoopbackServer { _ in .respond(status: 200) }
        let port = server.port
        server.stop()
        return port
    }

    public func stop() {
        guard stopped.withLock({ stopped in defer { stopped = true }; return !stopped }) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        if let socketPath { unlink(socketPath) }
    }

    deinit {
        stop()
    }

    // MARK: - One connection

    private static func serve(_ fd: Int32, handler: @Sendable (Request) -> Reply) {
        defer { close(fd) }
        while let request = readRequest(fd) {
            switch handler(request) {
            case .respond(let status, let headers, let body):
                var head = "HTTP/1.1 \(status) Test\r\nContent-Length: \(body.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "\r\n"
                guard send(fd, Array(head.utf8) + body) else { return }
            case .raw(let bytes):
                _ = send(fd, bytes)
                return
            case .stall(let bytes):
                _ = send(fd, bytes)
                waitForClientToLeave(fd)
                return
            case .stream(let head, let chunk, let total, let hold, let sent):
                sent(stream(fd, head: head, chunk: chunk, total: total, hold: hold))
                return
            }
        }
    }

    /// Reads one request head and its Content-Length body; nil at end of stream or for non-HTTP bytes (a TLS hello).
    private static func readRequest(_ fd: Int32) -> Request? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return nil }
            data += buffer[..<count]
            guard let first = data.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else { return nil }
            headEnd = data.indices.dropLast(3).first { data[$0..<$0 + 4].elementsEqual(separator) }
        }
        let head = String(decoding: data[..<headEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(data[(headEnd! + 4)...])
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        while body.count < length {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return nil }
            body += buffer[..<count]
        }
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    /// MSG_NOSIGNAL: a client that hung up must not kill the test process with SIGPIPE.
    private static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    /// The body bytes the client took before it left (or all of `total`).
    private static func stream(_ fd: Int32, head: [UInt8], chunk: [UInt8], total: Int, hold: Duration) -> Int {
        guard send(fd, head) else { return 0 }
        if hold > .zero {
            let (seconds, attoseconds) = hold.components
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            var byte: UInt8 = 0
            // Readable with nothing to read: the client closed its end without waiting for the body.
            if ready > 0 && recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0 { return 0 }
        }
        var sentBytes = 0
        while sentBytes < total {
            let piece = Array(chunk.prefix(total - sentBytes))
            guard send(fd, piece) else { break }
            sentBytes += piece.count
            usleep(1000)
        }
        return sentBytes
    }

    private static func waitForClientToLeave(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buffer, buffer.count) > 0 {}
    }
}
