import Adapters
import Foundation
import Logging
import Stores
import Synchronization
import TestSupport
@testable import Registry

/// A plugin registry on 127.0.0.1: each path answers as its `Behaviour` says, and every request is recorded.
final class FakeUpstream: Sendable {
    enum Behaviour: Sendable {
        /// `200` with the body; answers `304` to a matching `If-None-Match` or `If-Modified-Since`.
        case document([UInt8], etag: String? = nil, lastModified: String? = nil)
        /// This status with a small body.
        case status(Int)
        /// Headers, then nothing until the client gives up.
        case stall
        /// `200` with this many bytes and no Content-Length (the end is the connection closing).
        case endless(Int)
        /// Waits, then behaves as the inner behaviour.
        indirect case slow(Double, Behaviour)
    }

    /// What the server thread and the test share.
    private final class Shared: Sendable {
        let behaviours: Mutex<[String: Behaviour]>
        let log = Mutex<[LoopbackServer.Request]>([])
        init(_ behaviours: [String: Behaviour]) { self.behaviours = Mutex(behaviours) }
    }

    let server: LoopbackServer
    private let shared: Shared

    init(_ behaviours: [String: Behaviour] = [:]) throws {
        let shared = Shared(behaviours)
        self.shared = shared
        server = try LoopbackServer { request in
            shared.log.withLock { $0.append(request) }
            let path = String(request.path.prefix { $0 != "?" })
            return FakeUpstream.reply(shared.behaviours.withLock { $0[path] } ?? .status(404), to: request)
        }
    }

    func url(_ path: String) -> String { server.baseURL + path }

    func set(_ path: String, _ behaviour: Behaviour) { shared.behaviours.withLock { $0[path] = behaviour } }

    /// Requests received for `path` (all paths when nil).
    func requests(_ path: String? = nil) -> [LoopbackServer.Request] {
        shared.log.withLock { log in path.map { path in log.filter { $0.path == path } } ?? log }
    }

    func stop() { server.stop() }

    private static func reply(_ behaviour: Behaviour, to request: LoopbackServer.Request) -> LoopbackServer.Reply {
        switch behaviour {
        case .document(let body, let etag, let lastModified):
            var headers: [(String, String)] = [("Content-Type", "application/json")]
            if let etag { headers.append(("ETag", etag)) }
            if let lastModified { headers.append(("Last-Modified", lastModified)) }
            if let etag, request.header("If-None-Match") == etag { return .respond(status: 304, headers: headers) }
            if let lastModified, request.header("If-None-Match") == nil, request.header("If-Modified-Since") == lastModified {
                return .respond(status: 304, headers: headers)
            }
            return .respond(status: 200, headers: headers, body: body)
        case .status(let status):
            return .respond(status: status, body: Array("{\"error\": \"status \(status)\"}".utf8))
        case .stall:
            return .stall(after: Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{".utf8))
        case .endless(let count):
            return .raw(Array("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: count))
        case .slow(let seconds, let inner):
            Thread.sleep(forTimeInterval: seconds)
            return reply(inner, to: request)
        }
    }
}

/// A registry service over a loopback upstream and its own database, with a clock the test moves.
struct ServiceFixture {
    let upstream: FakeUpstream
    let clock = TestClock()
    let databasePath: String
    let database: StateDB

    init(_ behaviours: [String: FakeUpstream.Behaviour] = [:]) throws {
        upstream = try FakeUpstream(behaviours)
        (database, databasePath) = try temporaryDatabase()
    }

    /// The usual upstream list: generated registry first, then the index.
    var standardURLs: [String] { [upstream.url("/generated-registry.json"), upstream.url("/index.json")] }

    func service(
        urls: [String]? = nil, database: StateDB? = nil, ttl: Double = 3600, retryInterval: Double = 60, maxDocumentBytes: Int = 32 << 20,
        timeout: Duration = .seconds(10), bundled: BundledRegistry? = nil
    ) -> RegistryService {
        let configuration = RegistryConfiguration(
            urls: urls ?? standardURLs, ttl: ttl, retryInterval: retryInterval, maxDocumentBytes: maxDocumentBytes)
        let client = HTTPClient(
            configuration: .init(
                connectTimeout: .seconds(2), totalTimeout: timeout, idleTimeout: timeout, maxResponseBytes: Int64(maxDocumentBytes)))
        let clock = self.clock
        return RegistryService(
            configuration: configuration,
            dependencies: .init(client: client, database: database ?? self.database, clock: clock, logger: quietLogger, bundled: bundled))
    }
}

/// Failures the tests provoke on purpose are not worth printing.
let quietLogger: Logger = {
    var logger = Logger(label: "registry-tests")
    logger.logLevel = .critical
    return logger
}()
