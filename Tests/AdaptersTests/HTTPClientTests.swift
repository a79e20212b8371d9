import Adapters
import Foundation
import Synchronization
import TestSupport
import Testing

/// The error a call threw, or nil when it returned.
private func failure(of call: () throws -> HTTPClientResponse) -> HTTPClientError? {
    do {
        _ = try call()
        return nil
    } catch let error as HTTPClientError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

private func quickClient(
    totalTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(10), maxResponseBytes: Int64 = 1 << 20,
    maxRedirects: Int = 5
) -> HTTPClient {
    HTTPClient(configuration: .init(
        connectTimeout: .seconds(5), totalTimeout: totalTimeout, idleTimeout: idleTimeout,
        maxResponseBytes: maxResponseBytes, maxRedirects: maxRedirects))
}

/// A response without Content-Length whose body ends when the connection closes.
private func closeDelimited(_ body: [UInt8]) -> LoopbackServer.Reply {
    .raw(Array("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".utf8) + body)
}

private func temporaryPath(_ name: String) -> String {
    "/tmp/adapters-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
}

@Suite("HTTPClient")
struct HTTPClientTests {
    /// A GET returns the server's status, body and headers, and the request carries its method, path and headers.
    @Test func getReturnsStatusBodyAndHeaders() throws {
        let seen = Mutex<LoopbackServer.Request?>(nil)
        let server = try LoopbackServer { request in
            seen.withLock { $0 = request }
            let headers = [("X-Answer", "42"), ("Set-Thing", "a"), ("set-thing", "b")]
            return .respond(status: 201, headers: headers, body: Array("hello".utf8))
        }
        defer { server.stop() }

        let request = HTTPClientRequest(url: server.baseURL + "/items?q=1", headers: [("X-Probe", "yes")])
        let response = try quickClient().send(request)

        #expect(response.status == 201)
        #expect(response.bodyText == "hello")
        #expect(response.header("x-answer") == "42")
        #expect(response.header("CONTENT-LENGTH") == "5")
        #expect(response.headers(named: "Set-Thing") == ["a", "b"])
        #expect(response.effectiveURL == server.baseURL + "/items?q=1")
        let received = try #require(seen.withLock { $0 })
        #expect(received.method == "GET")
        #expect(received.path == "/items?q=1")
        #expect(received.header("x-probe") == "yes")
        #expect(received.header("user-agent") == "plugind")
    }

    /// A PUT sends its method and exact body bytes, and a non-2xx status is a response, not an error.
    @Test func putSendsMethodAndBody() throws {
        let server = try LoopbackServer { request in
            .respond(status: 422, body: Array("\(request.method) ".utf8) + request.body)
        }
        defer { server.stop() }
        let body = Array("{\"a\":1}".utf8)

        let response = try quickClient().send(HTTPClientRequest(
            method: "PUT", url: server.baseURL + "/x", headers: [("Content-Type", "application/json")], body: body))

        #expect(response.status == 422)
        #expect(response.bodyText == "PUT {\"a\":1}")
    }

    /// A server that accepts but never answers fails with `.timedOut` after the 1 s total timeout, not later.
    @Test func silentServerTimesOut() throws {
        let server = try LoopbackServer { _ in .stall() }
        defer { server.stop() }
        let url = server.baseURL + "/slow"
        let clock = ContinuousClock()
        let start = clock.now

        let error = failure { try quickClient(totalTimeout: .seconds(1)).send(HTTPClientRequest(url: url)) }

        #expect(error == .timedOut(url: url))
        #expect(start.duration(to: clock.now) < .seconds(5))
    }

    /// A body that stops arriving fails with `.timedOut` after the idle timeout, long before the total timeout.
    @Test func stalledBodyHitsIdleTimeout() throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial"
        let server = try LoopbackServer { _ in .stall(after: Array(head.utf8)) }
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now

        let error = failure {
            try quickClient(totalTimeout: .seconds(30), idleTimeout: .seconds(1)).send(HTTPClientRequest(url: server.baseURL))
        }

        #expect(error == .timedOut(url: server.baseURL))
        #expect(start.duration(to: clock.now) < .seconds(5))
    }

    /// A server that never sends a response head also trips the idle timeout, long before the total timeout.
    @Test func silentServerHitsIdleTimeout() throws {
        let server = try LoopbackServer { _ in .stall() }
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now

        let error = failure {
            try quickClient(totalTimeout: .seconds(30), idleTimeout: .seconds(1)).send(HTTPClientRequest(url: server.baseURL))
        }

        #expect(error == .timedOut(url: server.baseURL))
        #expect(start.duration(to: clock.now) < .seconds(5))
    }

    /// A body over the limit without Content-Length is cut off with `.tooLarge` by the write callback.
    @Test func oversizedBodyWithoutContentLengthIsRefused() throws {
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 256 * 1024)
        let server = try LoopbackServer { _ in closeDelimited(body) }
        defer { server.stop() }

        let error = failure { try quickClient(maxResponseBytes: 1024).send(HTTPClientRequest(url: server.baseURL)) }

        #expect(error == .tooLarge(limit: 1024))
    }

    /// A body whose announced Content-Length is over the limit is refused with `.tooLarge`.
    @Test func oversizedContentLengthIsRefused() throws {
        let server = try LoopbackServer { _ in .respond(status: 200, body: [UInt8](repeating: 0, count: 4096)) }
        defer { server.stop() }

        let error = failure { try quickClient(maxResponseBytes: 1024).send(HTTPClientRequest(url: server.baseURL)) }

        #expect(error == .tooLarge(limit: 1024))
    }

    /// A body exactly at the limit is accepted.
    @Test func bodyAtTheLimitIsAccepted() throws {
        let server = try LoopbackServer { _ in closeDelimited([UInt8](repeating: 7, count: 1024)) }
        defer { server.stop() }

        let response = try quickClient(maxResponseBytes: 1024).send(HTTPClientRequest(url: server.baseURL))

        #expect(response.body == [UInt8](repeating: 7, count: 1024))
    }

    /// A redirect from loopback http to plain http on another host is refused before any connection is tried.
    @Test func redirectToRemotePlainHTTPIsRefused() throws {
        let server = try LoopbackServer { _ in .respond(status: 302, headers: [("Location", "http://example.invalid/next")]) }
        defer { server.stop() }
        let url = server.baseURL + "/start"

        let error = failure { try quickClient().send(HTTPClientRequest(url: url)) }

        #expect(error == .redirectRefused(from: url, to: "http://example.invalid/next"))
    }

    /// A redirect to a non-http scheme is refused, even to a loopback host.
    @Test(arguments: ["file:///etc/passwd", "ftp://127.0.0.1/pub"])
    func redirectToOtherSchemeIsRefused(location: String) throws {
        let server = try LoopbackServer { _ in .respond(status: 301, headers: [("Location", location)]) }
        defer { server.stop() }

        let error = failure { try quickClient().send(HTTPClientRequest(url: server.baseURL)) }

        #expect(error == .redirectRefused(from: server.baseURL, to: location))
    }

    /// A redirect to plain http on an IPv6 loopback address passes the policy (it then fails to connect, not as refused).
    @Test func redirectToIPv6LoopbackPassesPolicy() throws {
        let server = try LoopbackServer { _ in .respond(status: 307, headers: [("Location", "http://[::1]:1/")]) }
        defer { server.stop() }

        let error = failure { try quickClient().send(HTTPClientRequest(url: server.baseURL)) }

        guard case .connectFailed(let url, _) = error else {
            Issue.record("expected connectFailed, got \(String(describing: error))")
            return
        }
        #expect(url == "http://[::1]:1/")
    }

    /// A relative redirect to another loopback path is followed and the final response and URL are returned.
    @Test func loopbackRedirectIsFollowed() throws {
        let server = try LoopbackServer { request in
            switch request.path {
            case "/start": .respond(status: 302, headers: [("Location", "/final")], body: Array("moved".utf8))
            case "/final": .respond(status: 200, body: Array("arrived".utf8))
            default: .respond(status: 404)
            }
        }
        defer { server.stop() }

        let response = try quickClient().send(HTTPClientRequest(url: server.baseURL + "/start"))

        #expect(response.status == 200)
        #expect(response.bodyText == "arrived")
        #expect(response.effectiveURL == server.baseURL + "/final")
    }

    /// A POST answered with 303 is re-sent as a GET without the body.
    @Test func seeOtherTurnsPostIntoGet() throws {
        let server = try LoopbackServer { request in
            request.path == "/form"
                ? .respond(status: 303, headers: [("Location", "/result")])
                : .respond(status: 200, body: Array("\(request.method) \(request.body.count)".utf8))
        }
        defer { server.stop() }

        let request = HTTPClientRequest(method: "POST", url: server.baseURL + "/form", body: Array("data".utf8))
        let response = try quickClient().send(request)

        #expect(response.bodyText == "GET 0")
    }

    /// A redirect loop stops with `.tooManyRedirects` after the configured number of hops.
    @Test func redirectLoopStops() throws {
        let hops = Mutex(0)
        let server = try LoopbackServer { _ in
            hops.withLock { $0 += 1 }
            return .respond(status: 302, headers: [("Location", "/again")])
        }
        defer { server.stop() }

        let error = failure { try quickClient(maxRedirects: 3).send(HTTPClientRequest(url: server.baseURL)) }

        #expect(error == .tooManyRedirects)
        #expect(hops.withLock { $0 } == 4)
    }

    /// With `redirectOrigins` set, a redirect may lead only to the request's own origin or one of them (issue 16):
    /// another loopback port is refused before it is contacted.
    @Test func redirectToAnOriginTheSettingsDoNotNameIsRefused() throws {
        let contacted = Mutex(false)
        let other = try LoopbackServer { _ in
            contacted.withLock { $0 = true }
            return .respond(status: 200)
        }
        defer { other.stop() }
        let first = try LoopbackServer { request in
            request.path == "/same" ? .respond(status: 200, body: Array("same".utf8))
                : .respond(status: 302, headers: [("Location", request.path == "/away" ? other.baseURL + "/" : "/same")])
        }
        defer { first.stop() }
        let client = HTTPClient(configuration: .init(connectTimeout: .seconds(5), redirectOrigins: ["http://127.0.0.1:1"]))

        #expect(try client.send(HTTPClientRequest(url: first.baseURL + "/here")).body == Array("same".utf8))
        let error = failure { try client.send(HTTPClientRequest(url: first.baseURL + "/away")) }
        #expect(error == .redirectRefused(from: first.baseURL + "/away", to: other.baseURL + "/"))
        #expect(contacted.withLock { $0 } == false)

        let allowing = HTTPClient(configuration: .init(connectTimeout: .seconds(5), redirectOrigins: [other.baseURL + "/any/path"]))
        #expect(try allowing.send(HTTPClientRequest(url: first.baseURL + "/away")).status == 200)
    }

    /// A 307 or 308 would repeat the request with its body: never to another origin, even an allowed one.
    @Test(arguments: [307, 308])
    func aBodyIsNeverResentToAnotherOrigin(status: Int) throws {
        let received = Mutex<[UInt8]?>(nil)
        let other = try LoopbackServer { request in
            received.withLock { $0 = request.body }
            return .respond(status: 200)
        }
        defer { other.stop() }
        let first = try LoopbackServer { request in
            request.path == "/again" ? .respond(status: 201) : .respond(status: status, headers: [("Location", request.path == "/away" ? other.baseURL + "/" : "/again")])
        }
        defer { first.stop() }
        let client = quickClient()
        let away = HTTPClientRequest(method: "POST", url: first.baseURL + "/away", headers: [("Content-Type", "application/json")], body: Array("{\"secret\":1}".utf8))
        #expect(failure { try client.send(away) } == .redirectRefused(from: first.baseURL + "/away", to: other.baseURL + "/"))
        #expect(received.withLock { $0 } == nil)
        // The same origin may have it again.
        let same = HTTPClientRequest(method: "POST", url: first.baseURL + "/here", body: Array("{}".utf8))
        #expect(try client.send(same).status == 201)
    }

    /// Credentials are not carried across origins: Authorization reaches the first server but not the redirect target.
    @Test func crossOriginRedirectDropsAuthorization() throws {
        let targetSaw = Mutex<String?>("not called")
        let target = try LoopbackServer { request in
            targetSaw.withLock { $0 = request.header("authorization") }
            return .respond(status: 200)
        }
        defer { target.stop() }
        let firstSaw = Mutex<String?>(nil)
        let first = try LoopbackServer { request in
            firstSaw.withLock { $0 = request.header("authorization") }
            return .respond(status: 302, headers: [("Location", target.baseURL + "/")])
        }
        defer { first.stop() }

        let response = try quickClient().send(HTTPClientRequest(url: first.baseURL, headers: [("Authorization", "Bearer t0ken")]))

        #expect(response.status == 200)
        #expect(firstSaw.withLock { $0 } == "Bearer t0ken")
        #expect(targetSaw.withLock { $0 } == nil)
    }

    /// Schemes other than http and https are refused up front.
    @Test(arguments: ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "not a url"])
    func otherProtocolsAreRefused(url: String) {
        #expect(failure { try quickClient().send(HTTPClientRequest(url: url)) } == .protocolNotAllowed(url: url))
    }

    /// A port where nothing listens fails with `.connectFailed`.
    @Test func closedPortFailsToConnect() throws {
        let url = "http://127.0.0.1:\(try LoopbackServer.closedPort())/"

        let error = failure { try quickClient().send(HTTPClientRequest(url: url)) }

        guard case .connectFailed(let failedURL, _) = error else {
            Issue.record("expected connectFailed, got \(String(describing: error))")
            return
        }
        #expect(failedURL == url)
    }

    /// https to a server that does not speak TLS fails with `.tls`.
    @Test func tlsHandshakeFailureIsTLS() throws {
        let server = try LoopbackServer { _ in .respond(status: 200) }
        defer { server.stop() }

        let error = failure { try quickClient().send(HTTPClientRequest(url: "https://127.0.0.1:\(server.port)/")) }

        guard case .tls = error else {
            Issue.record("expected tls, got \(String(describing: error))")
            return
        }
    }

    /// Credentials in a failing URL appear neither in the error's value nor in its description.
    @Test func errorsCarryNoURLCredentials() throws {
        let server = try LoopbackServer { _ in .stall() }
        defer { server.stop() }
        let url = "http://deploy:hunter22@127.0.0.1:\(server.port)/"

        let error = try #require(failure { try quickClient(totalTimeout: .milliseconds(300)).send(HTTPClientRequest(url: url)) })

        #expect(error == .timedOut(url: "http://****@127.0.0.1:\(server.port)/"))
        #expect(!error.description.contains("hunter22"))
        #expect(!HTTPClientError.redirectRefused(from: url, to: "http://a:b@example.invalid/").description.contains("hunter22"))
        #expect(!HTTPClientError.connectFailed(url: url, reason: "x").description.contains("deploy"))
    }

    /// A request over a unix socket reaches the server listening there, with the URL path intact.
    @Test func unixSocketTargetWorks() throws {
        let path = temporaryPath("bridge.sock")
        let server = try LoopbackServer(unixSocketPath: path) { request in
            .respond(status: 200, body: Array("bridge \(request.method) \(request.path)".utf8))
        }
        defer { server.stop() }

        let request = HTTPClientRequest(endpoint: "unix:" + path, path: "/v1/ping?x=1", method: "POST", body: [])

        let response = try quickClient().send(request)

        #expect(response.status == 200)
        #expect(response.bodyText == "bridge POST /v1/ping?x=1")
    }

    /// An endpoint given as a base URL (with or without a trailing slash) is joined with the path.
    @Test func urlEndpointJoinsPath() throws {
        let server = try LoopbackServer { request in .respond(status: 200, body: Array(request.path.utf8)) }
        defer { server.stop() }

        let response = try quickClient().send(HTTPClientRequest(endpoint: server.baseURL + "/", path: "v1/ping"))

        #expect(response.bodyText == "/v1/ping")
    }

    /// Streaming to a file writes exactly the body bytes (after a redirect) and reports progress up to the full size.
    @Test func downloadWritesExactBytes() throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let server = try LoopbackServer { request in
            request.path == "/pkg.tgz"
                ? .respond(status: 200, headers: [("Content-Type", "application/octet-stream")], body: payload)
                : .respond(status: 302, headers: [("Location", "/pkg.tgz")], body: Array("redirect body".utf8))
        }
        defer { server.stop() }
        let path = temporaryPath("pkg.tgz")
        defer { unlink(path) }
        let lastProgress = Mutex<HTTPDownloadProgress?>(nil)

        let response = try quickClient().download(HTTPClientRequest(url: server.baseURL + "/latest"), toFile: path) { progress in
            lastProgress.withLock { $0 = progress }
        }

        #expect(response.status == 200)
        #expect(response.body.isEmpty)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == payload)
        #expect(lastProgress.withLock { $0 } == HTTPDownloadProgress(receivedBytes: 300_000, expectedBytes: 300_000))
    }

    /// A failed download removes its file; an oversized stream is refused with `.tooLarge`.
    @Test func failedDownloadRemovesFile() throws {
        let server = try LoopbackServer { _ in closeDelimited([UInt8](repeating: 1, count: 100_000)) }
        defer { server.stop() }
        let path = temporaryPath("big.tgz")
        defer { unlink(path) }

        let error = failure {
            try quickClient(maxResponseBytes: 10_000).download(HTTPClientRequest(url: server.baseURL), toFile: path)
        }

        #expect(error == .tooLarge(limit: 10_000))
        #expect(access(path, F_OK) != 0)
    }

    /// A non-2xx download keeps the error body in the response and writes nothing to the file.
    @Test func errorStatusIsNotWrittenToFile() throws {
        let server = try LoopbackServer { _ in .respond(status: 404, body: Array("no such package".utf8)) }
        defer { server.stop() }
        let path = temporaryPath("missing.tgz")
        defer { unlink(path) }

        let response = try quickClient().download(HTTPClientRequest(url: server.baseURL), toFile: path)

        #expect(response.status == 404)
        #expect(response.bodyText == "no such package")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
    }

    /// Header values with CR or LF are refused instead of being sent as injected headers.
    @Test func headerInjectionIsRefused() throws {
        let server = try LoopbackServer { _ in .respond(status: 200) }
        defer { server.stop() }

        let error = failure {
            try quickClient().send(HTTPClientRequest(url: server.baseURL, headers: [("X-A", "b\r\nX-Evil: 1")]))
        }

        guard case .other = error else {
            Issue.record("expected other, got \(String(describing: error))")
            return
        }
    }
}
