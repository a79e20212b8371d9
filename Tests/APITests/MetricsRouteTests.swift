import Foundation
import JSON
import TestWorld
import Testing

/// GET /api/metrics, in-process through the real gatekeeper and route table: what a Prometheus scraping plugind reads
/// after requests, operations, refreshes and restarts. Each World has a metrics registry of its own.
@Suite struct MetricsRouteTests {
    let world: World
    init() throws { world = try World() }

    /// The exposition as `series → value` (`name{labels}` exactly as written).
    func scrape(token: World.Token = .read, sourceLocation: SourceLocation = #_sourceLocation) -> (samples: [String: Double], text: String) {
        let answer = world.check("GET /metrics", "/metrics", 200, token: token, sourceLocation: sourceLocation)
        var samples: [String: Double] = [:]
        for line in answer.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return (samples, answer.text)
    }

    /// Prometheus' text format (not JSON), never cached, for a read token; none without a token.
    @Test func servedAsPrometheusText() {
        let answer = world.check("GET /metrics", "/metrics", 200, token: .read)
        #expect(answer.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(answer.header("Cache-Control") == "no-store")
        #expect(answer.text.contains("# TYPE plugind_registry_refreshes_total counter"))
        #expect(scrape().text.contains("# TYPE plugind_http_requests_total counter"))
        #expect(world.send("GET", "/metrics", token: .none).status == 401)
        #expect(world.send("HEAD", "/metrics", token: .read).status == 200)
    }

    /// Requests are counted by the route table's pattern and status; a path no route has counts as `unmatched`.
    @Test func requestsByRoute() {
        for _ in 0..<3 { world.check("GET /health", "/health", 200, token: .none) }
        world.check("GET /plugins/:id", "/plugins/no-such-plugin-anywhere", 404, token: .read)
        _ = world.send("GET", "/not-a-route-at-all", token: .read)
        let (samples, text) = scrape()
        #expect(samples[#"plugind_http_requests_total{route="/api/health",method="GET",status="200"}"#] == 3)
        #expect(samples[#"plugind_http_requests_total{route="/api/plugins/:id",method="GET",status="404"}"#] == 1)
        #expect(samples[#"plugind_http_requests_total{route="unmatched",method="GET",status="404"}"#] == 1)
        #expect(samples[#"plugind_http_request_duration_seconds_count{route="/api/health"}"#] == 3)
        #expect(samples[#"plugind_http_request_duration_seconds_bucket{route="/api/health",le="0.0005"}"#] != nil)
        #expect(!text.contains("no-such-plugin-anywhere") && !text.contains("not-a-route-at-all"))
        // The scrape itself shows up in the next one.
        #expect(scrape().samples[#"plugind_http_requests_total{route="/api/metrics",method="GET",status="200"}"#] == 1)
    }

    /// Operations by kind and outcome with their durations; none left running once they ended.
    @Test func operationsByKindAndOutcome() throws {
        world.check("POST /plugins/install", "/plugins/install", 200, json: ["name": .string(World.published.npm)])
        world.check("POST /plugins/install", "/plugins/install", 404, json: ["name": "@acme/plugin-nowhere"])
        let samples = scrape().samples
        #expect(samples[#"plugind_operations_total{kind="install",outcome="succeeded"}"#] == 1)
        #expect(samples[#"plugind_operations_total{kind="install",outcome="failed"}"#] == 1)
        #expect(samples[#"plugind_operation_duration_seconds_count{kind="install",outcome="succeeded"}"#] == 1)
        #expect(samples[#"plugind_operations_running{kind="install"}"#] == 0)
    }

    /// A second operation on a busy target is refused and counted as such.
    @Test func refusedOperations() throws {
        let id = UUID().uuidString.lowercased()
        _ = try world.wiring.operations.run(kind: "test", target: "t", operationId: id) { _ in nil }
        world.check("POST /registry/refresh", "/registry/refresh", 409, headers: ["x-operation-id": id])
        #expect(scrape().samples[#"plugind_operations_total{kind="registry-refresh",outcome="refused"}"#] == 1)
    }

    /// A refresh counts, and the registry's entries and the age of its copy are read at the scrape.
    @Test func registryRefresh() {
        world.check("POST /registry/refresh", "/registry/refresh", 200)
        let samples = scrape().samples
        #expect(samples[#"plugind_registry_refreshes_total{outcome="updated"}"#] == 1)
        #expect(samples["plugind_registry_refresh_failures_total"] == 0)
        #expect((samples["plugind_registry_entries"] ?? 0) > 100)
        #expect((samples["plugind_registry_snapshot_age_seconds"] ?? -1) >= 0)
        #expect(samples["plugind_registry_snapshot_bundled"] == 0)
        #expect(samples["plugind_registry_refresh_in_progress"] == 0)
    }

    /// An upstream that does not answer counts as a refresh failure; no copy, no age.
    @Test func registryRefreshFailure() throws {
        let world = try World(settings: [("pluginRegistryUrls", "http://127.0.0.1:9/generated-registry.json")])
        func failures() -> Double? {
            let text = world.check("GET /metrics", "/metrics", 200, token: .read).text
            #expect(!text.contains("plugind_registry_snapshot_age_seconds"))
            return text.split(separator: "\n").first { $0.hasPrefix("plugind_registry_refresh_failures_total ") }
                .flatMap { Double($0.split(separator: " ")[1]) }
        }
        // plugind may already have tried on its own at start (advisories are checked against the registry then).
        world.wiring.registry.waitForRefresh()
        let before = failures() ?? -1
        world.check("POST /registry/refresh", "/registry/refresh", 502)
        #expect((failures() ?? 0) >= before + 1)
    }

    /// The runtime's state and plugins as the bridge reports them, and restarts asked of it.
    @Test func runtime() {
        world.check("POST /runtime/restart", "/runtime/restart", 200)
        let samples = scrape().samples
        #expect(samples["plugind_runtime_attached"] == 1)
        #expect(samples[#"plugind_runtime_state{state="running"}"#] == 1)
        #expect(samples["plugind_runtime_plugins_loaded"] == 1)
        #expect(samples["plugind_runtime_plugins_failed"] == 0)
        #expect(samples[#"plugind_runtime_restarts_total{outcome="sent"}"#] == 1)
    }

    /// Heartbeats to the agent registry and registrations, by outcome.
    @Test func agentRegistry() {
        world.check("POST /registry/register", "/registry/register", 200)
        world.check("POST /registry/sync", "/registry/sync", 200)
        let samples = scrape().samples
        #expect(samples[#"plugind_agent_registry_registrations_total{outcome="succeeded"}"#] == 1)
        #expect(samples[#"plugind_agent_registry_heartbeats_total{outcome="accepted"}"#] == 1)
        #expect(samples[#"plugind_agent_registry_heartbeats_total{outcome="failed"}"#] == 0)
    }

    /// The process as Prometheus' own clients name it.
    @Test func process() {
        let samples = scrape().samples
        #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_048_576)
        #expect((samples["process_open_fds"] ?? 0) > 2)
        #expect((samples["process_max_fds"] ?? 0) >= (samples["process_open_fds"] ?? 0))
        #expect((samples["process_start_time_seconds"] ?? 0) > 1_700_000_000)
    }

    /// No secret put into a plugin's configuration, nor any token, appears in the metrics.
    @Test func noSecrets() {
        let secret = "sk-ant-metrics-secret-value-1234567890"
        world.check("PUT /plugins/:id", "/plugins/\(World.installed.id)", 200, json: ["config": ["ANTHROPIC_API_KEY": .string(secret)]])
        world.check("POST /registry/register", "/registry/register", 200)
        let text = scrape().text
        #expect(!text.contains(secret) && !text.contains(world.adminToken) && !text.contains(world.readToken))
        for issued in world.agentRegistry.secrets { #expect(!text.contains(issued)) }
    }

    /// With the setting off the route is 404 naming the setting, and nothing is counted.
    @Test func off() throws {
        let world = try World(settings: [("metrics", "false")])
        #expect(world.wiring.gatekeeper.metrics == nil)
        #expect(!world.wiring.metrics.enabled)
        let answer = world.check("GET /metrics", "/metrics", 404, token: .read)
        #expect(answer.error.contains("'metrics'"))
    }
}
