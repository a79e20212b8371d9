import Adapters
import Foundation
import Synchronization
import TestSupport
import Testing

/// A body over `maxResponseBytes` is refused from its Content-Length before any of it is read, or as soon as the
/// bytes received cross the limit; either way the client never takes in more than the limit. What the server
/// managed to send before the client left is the evidence: socket buffers aside, that is what the client read.
/// What the server reports once the connection is over: the body bytes it sent.
private final class SentBytes: Sendable {
    private let value = Mutex<Int?>(nil)

    func report(_ count: Int) { value.withLock { $0 = count } }

    /// Waits for the report (the server's connection thread makes it once the client has gone).
    func wait() throws -> Int {
        for _ in 0..<500 where value.withLock({ $0 }) == nil { usleep(10_000) }
        return try #require(value.withLock { $0 }, "the server never finished the connection")
    }
}

@Suite("HTTPClient response limit")
struct ResponseLimitTests {
    static let limit: Int64 = 1 << 20
    /// The server sends its body in pieces with a pause after each, so the client keeps up with it; what is still in
    /// flight when the client leaves is a few pieces, well under this.
    static let slack = 4 << 20
    static let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 16 << 10)
    /// Far more than the limit: a client that does not stop would take all of it.
    static let documentBytes = 100_000_000

    private func client() -> HTTPClient {
        HTTPClient(configuration: .init(
            connectTimeout: .seconds(5), totalTimeout: .seconds(60), idleTimeout: .seconds(30), maxResponseBytes: Self.limit))
    }

    private func failure(_ call: () throws -> HTTPClientResponse) -> HTTPClientError? {
        do {
            let response = try call()
            Issue.record("expected a refusal, got \(response.status) with \(response.body.count) body bytes")
            return nil
        } catch let error as HTTPClientError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    /// A server whose first response is `head` and then a long body; later requests (a redirect's) get a small 200.
    private func server(head: String, holdBody: Duration = .zero, sent: SentBytes) throws -> LoopbackServer {
        try LoopbackServer { request in
            guard request.path == "/" else { return .respond(status: 200, body: Array("small".utf8)) }
            return .stream(head: Array(head.utf8), chunk: Self.chunk, total: Self.documentBytes, holdBody: holdBody, sent: sent.report)
        }
    }

    /// An announced Content-Length over the limit is refused from the head: the client leaves before the server sends
    /// a single body byte (the server holds the body for 3 s, longer than any refusal takes), whatever the status.
    @Test(arguments: [
        "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 500 Internal Server Error", "HTTP/1.1 302 Found\r\nLocation: /next",
    ])
    func contentLengthOverTheLimitIsRefusedBeforeTheBody(statusLine: String) throws {
        let sent = SentBytes()
        let server = try server(head: "\(statusLine)\r\nContent-Length: \(Self.documentBytes)\r\n\r\n", holdBody: Duration.seconds(3), sent: sent)
        defer { server.stop() }

        let error = failure { try client().send(HTTPClientRequest(url: server.baseURL + "/")) }

        #expect(error == .tooLarge(limit: Self.limit))
        #expect(try sent.wait() == 0)
    }

    /// The same when streaming to a file: refused from the head, nothing written, the file removed.
    @Test func contentLengthOverTheLimitIsRefusedBeforeADownload() throws {
        let sent = SentBytes()
        let server = try server(head: "HTTP/1.1 200 OK\r\nContent-Length: \(Self.documentBytes)\r\n\r\n", holdBody: Duration.seconds(3), sent: sent)
        defer { server.stop() }
        let path = "/tmp/adapters-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-huge.tgz"
        defer { unlink(path) }

        let error = failure { try client().download(HTTPClientRequest(url: server.baseURL + "/"), toFile: path) }

        #expect(error == .tooLarge(limit: Self.limit))
        #expect(try sent.wait() == 0)
        #expect(access(path, F_OK) != 0)
    }

    /// Without Content-Length (ended by closing, or chunked), the body is cut off as soon as it crosses the limit: the
    /// server gets to send the limit and what was in flight, never the rest of the document — for a redirect's body
    /// (which nobody keeps) as for any other.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nConnection: close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close",
        "HTTP/1.1 302 Found\r\nLocation: /next\r\nConnection: close",
    ])
    func aBodyWithoutLengthIsCutOffAtTheLimit(head: String) throws {
        let sent = SentBytes()
        let server = try server(head: head + "\r\n\r\n", sent: sent)
        defer { server.stop() }

        let error = failure { try client().send(HTTPClientRequest(url: server.baseURL + "/")) }

        #expect(error == .tooLarge(limit: Self.limit))
        let count = try sent.wait()
        #expect(count > Int(Self.limit))
        #expect(count < Int(Self.limit) + Self.slack, "the client took \(count) bytes of a \(Self.limit)-byte limit")
    }
}
