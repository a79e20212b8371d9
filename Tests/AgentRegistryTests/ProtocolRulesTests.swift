import Foundation
import JSON
import Testing
@testable import AgentRegistry

@Suite struct ProtocolRulesTests {
    /// Absolute http and https URLs are accepted as the agent's public URI, with ports, paths, queries and IPv6 hosts.
    @Test(arguments: [
        "https://agent.example.com", "http://agent.example.com:8080/", "https://agent.example.com/a/b?c=d", "HTTPS://AGENT.EXAMPLE.COM",
        "http://127.0.0.1:3000", "https://[2001:db8::1]:8443/x", "https://xn--bcher-kva.example/",
    ])
    func acceptsHTTPURLs(uri: String) {
        #expect(PublicURI.problem(uri) == nil)
    }

    /// Credentials in a refused URI are never repeated in the reason.
    @Test func reasonsDoNotRepeatTheURI() throws {
        let reason = try #require(PublicURI.problem("https://admin:hunter2@agent.example.com"))
        #expect(!reason.contains("hunter2") && !reason.contains("admin"))
    }

    /// The secret goes only to https registries, or plain http on loopback.
    @Test func registryURLPolicy() {
        #expect(PublicURI.isAcceptableRegistry("https://registry.elizaos.com"))
        #expect(PublicURI.isAcceptableRegistry("http://127.0.0.1:8080"))
        #expect(PublicURI.isAcceptableRegistry("http://localhost:8080/base"))
        #expect(PublicURI.isAcceptableRegistry("http://[::1]:8080"))
        #expect(!PublicURI.isAcceptableRegistry("http://registry.elizaos.com"))
        #expect(!PublicURI.isAcceptableRegistry("http://127.0.0.1.example.com"))
        #expect(!PublicURI.isAcceptableRegistry("ftp://127.0.0.1"))
        #expect(!PublicURI.isAcceptableRegistry("https://user:pw@registry.elizaos.com"))
    }

    /// Retry waits double from the base, stop at the cap, and stay between half the ceiling and the ceiling.
    @Test func retryDelays() {
        let policy = RetryPolicy(baseMs: 2_000, capMs: 300_000)
        #expect((1...10).map { policy.ceilingMs(afterFailures: $0) }
            == [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000])
        #expect(policy.ceilingMs(afterFailures: 10_000) == 300_000)
        #expect(policy.delayMs(afterFailures: 1, random: 0) == 1_000)
        #expect(policy.delayMs(afterFailures: 1, random: 1) == 2_000)
        for _ in 0..<200 {
            let delay = policy.delayMs(afterFailures: 3)
            #expect((4_000...8_000).contains(delay))
        }
        #expect(policy.delayMs(afterFailures: 1, retryAfterMs: 60_000, random: 0) == 60_000)
        #expect(policy.delayMs(afterFailures: 1, retryAfterMs: 3_600_000, random: 0) == 300_000)
    }

    /// The public initialiser keeps the interval at 1000 ms or more and drops trailing slashes from the registry URL.
    @Test func configurationLimits() {
        let configuration = AgentRegistryConfiguration(registryURL: "https://registry.example.com/", syncIntervalMs: 10, publicURI: "")
        #expect(configuration.syncIntervalMs == 1000)
        #expect(configuration.registryURL == "https://registry.example.com")
        #expect(configuration.publicURI == nil)
        #expect(configuration.leaseDurationMs > configuration.retryCapMs)
        let defaults = AgentRegistryConfiguration()
        #expect(defaults.registryURL == "https://registry.elizaos.com")
        #expect(!defaults.autoRegister)
        #expect(defaults.syncIntervalMs == 300_000)
        #expect(defaults.agentName == "agent")
    }

    /// A registration answer must carry a path-safe agent id and a header-safe secret of 16 characters or more.
    @Test func registrationAnswers() throws {
        let good = try AgentRegistryClient.credentials(from: ["agentId": "agt-1.x_y~z", "secret": "0123456789abcdef"])
        #expect(good == .init(agentId: "agt-1.x_y~z", secret: "0123456789abcdef"))
        let bad: [JSONValue] = [
            "a string", ["secret": "0123456789abcdef"], ["agentId": "../x", "secret": "0123456789abcdef"],
            ["agentId": "a b", "secret": "0123456789abcdef"], ["agentId": "a/b", "secret": "0123456789abcdef"],
            ["agentId": "..", "secret": "0123456789abcdef"], ["agentId": 42, "secret": "0123456789abcdef"],
            ["agentId": "ok"], ["agentId": "ok", "secret": "short"], ["agentId": "ok", "secret": "0123456789abcdef\r\nX: y"],
        ]
        for answer in bad {
            #expect(throws: AgentRegistryError.self) { try AgentRegistryClient.credentials(from: answer) }
        }
    }

    /// The heartbeat body has the documented fields, in order; the configured name is used unless the content names the agent.
    @Test func heartbeatBody() throws {
        let body = try JSONEncoding.value(testContent().body(defaultName: "agent", uri: nil))
        #expect(body.objectValue?.keys == ["name", "uri", "version", "runtime", "plugins"])
        #expect(body["name"] == "agent")
        #expect(body["uri"] == .null)
        #expect(testContent(name: "milady").body(defaultName: "agent", uri: "https://a.example").name == "milady")
    }
}
