import Foundation
import Logging
import Prometheus
import Testing
@testable import HTTPKit

/// The exposition as `series line → value` (`name{labels}` exactly as written), for assertions on what a scraper reads.
func samples(_ registry: PrometheusCollectorRegistry) -> [String: Double] {
    var buffer: [UInt8] = []
    registry.emit(into: &buffer)
    var result: [String: Double] = [:]
    for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        result[String(line[..<space])] = value
    }
    return result
}

/// Requests counted by the gatekeeper: by the route table's pattern, never the path a client sent.
@Suite struct RequestMetricsTests {
    let registry = PrometheusCollectorRegistry()
    let gate: Gatekeeper

    init() {
        let routes = [
            Route(.get, "/health", .open) { _ in .json(["ok": true]) },
            Route(.get, "/things/:id", .role(.read)) { context in
                guard context.parameters["id"] == "known" else { throw APIError.notFound("No such thing.") }
                return .json(["thing": "known"])
            },
        ]
        gate = Gatekeeper(
            router: Router(routes), tokens: FixedTokens(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            metrics: RequestMetrics(factory: PrometheusMetricsFactory(registry: registry)))
    }

    @discardableResult
    func send(_ method: String, _ uri: String, token: String? = "read-token", tooLarge: Bool = false) -> HTTPResponse {
        var headers: [String: String] = [:]
        if let token { headers["authorization"] = "Bearer \(token)" }
        return gate.respond(to: HTTPRequest(method: HTTPMethod(frontEnd: method)!, uri: uri, headers: headers, bodyTooLarge: tooLarge))
    }

    /// Each answer counts once under its route, method and status, and its duration lands in that route's histogram.
    @Test func countsByRouteMethodAndStatus() {
        send("GET", "/api/health", token: nil)
        send("GET", "/api/health?probe=1", token: nil)
        send("HEAD", "/api/health", token: nil)
        send("GET", "/api/things/known")
        send("GET", "/api/things/secret-name-from-a-client")
        let seen = samples(registry)
        #expect(seen[#"plugind_http_requests_total{route="/api/health",method="GET",status="200"}"#] == 2)
        #expect(seen[#"plugind_http_requests_total{route="/api/health",method="HEAD",status="200"}"#] == 1)
        #expect(seen[#"plugind_http_requests_total{route="/api/things/:id",method="GET",status="200"}"#] == 1)
        #expect(seen[#"plugind_http_requests_total{route="/api/things/:id",method="GET",status="404"}"#] == 1)
        #expect(seen[#"plugind_http_request_duration_seconds_count{route="/api/health"}"#] == 3)
        #expect(seen[#"plugind_http_request_duration_seconds_bucket{route="/api/health",le="+Inf"}"#] == 3)
        #expect(seen[#"plugind_http_request_duration_seconds_count{route="/api/things/:id"}"#] == 2)
        #expect(!seen.keys.contains { $0.contains("secret-name-from-a-client") || $0.contains("probe") })
    }

    /// Whatever no route answered — an unknown path, a wrong method, a body too large, a hostile segment, an odd
    /// method token — counts under `unmatched`, and the path a client made up never becomes a label.
    @Test func refusedBeforeRoutingIsUnmatched() {
        send("GET", "/api/made-up-path-12345")
        send("DELETE", "/api/health", token: "admin-token")
        send("POST", "/api/health", tooLarge: true)
        send("GET", "/api/%2e%2e/x")
        send("BREW", "/api/coffee-pot", token: "admin-token")
        send("GET", "/elsewhere/path")
        let seen = samples(registry)
        #expect(seen[#"plugind_http_requests_total{route="unmatched",method="GET",status="404"}"#] == 2)
        #expect(seen[#"plugind_http_requests_total{route="unmatched",method="DELETE",status="405"}"#] == 1)
        #expect(seen[#"plugind_http_requests_total{route="unmatched",method="POST",status="413"}"#] == 1)
        #expect(seen[#"plugind_http_requests_total{route="unmatched",method="GET",status="400"}"#] == 1)
        #expect(seen[#"plugind_http_requests_total{route="unmatched",method="OTHER",status="404"}"#] == 1)
        #expect(!seen.keys.contains { $0.contains("made-up") || $0.contains("coffee") || $0.contains("BREW") || $0.contains("elsewhere") })
    }

    /// A request refused at the gates of a route it did reach (no token) counts under that route.
    @Test func refusedAtTheGatesOfARoute() {
        send("GET", "/api/things/known", token: nil)
        send("GET", "/api/things/known", token: "not-a-token")
        #expect(samples(registry)[#"plugind_http_requests_total{route="/api/things/:id",method="GET",status="401"}"#] == 2)
    }

    /// Without metrics the gatekeeper answers the same and counts nothing.
    @Test func noMetricsNoSeries() {
        let plain = Gatekeeper(
            router: gate.router, tokens: FixedTokens(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(plain.respond(to: HTTPRequest(method: .get, uri: "/api/health")).status == .ok)
        #expect(samples(registry).isEmpty)
    }
}
