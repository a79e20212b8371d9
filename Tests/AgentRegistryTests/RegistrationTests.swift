import Adapters
import Foundation
import JSON
import Stores
import Testing
import TestSupport
@testable import AgentRegistry

@Suite struct RegistrationTests {
    /// Registering with a URI answers `{ok, agentId}`, sends name, URI, version and plugins, and shows in the status.
    @Test func registerWithURI() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()

        let answer = try service.register(uri: "https://agent.example.com/")
        #expect(answer.ok == true)
        #expect(answer.agentId == fixture.registry.agentIds.first!)
        let sent = try #require(fixture.registry.registrations.first)
        #expect(sent["name"] == "test-agent")
        #expect(sent["uri"] == "https://agent.example.com/")
        #expect(sent["version"] == "0.9.0-test")
        #expect(sent["runtime"]?["state"] == "running")
        #expect(sent["plugins"]?.arrayValue?.first?["name"] == "@elizaos/plugin-discord")
        #expect(sent["plugins"]?.arrayValue?.last?["version"] == .null)

        let status = try service.status()
        #expect(status.registered == true)
        #expect(status.agentId == answer.agentId)
        #expect(status.registryUrl == fixture.registry.url)
        #expect(status.uri == "https://agent.example.com/")
        #expect(status.lastSyncAt != nil)
        #expect(status.lastError == nil)
        #expect(status.nextSyncAt != nil)
        #expect(try JSONEncoding.value(status).objectValue?.keys == ["registered", "agentId", "registryUrl", "uri", "lastSyncAt", "lastError", "nextSyncAt"])
    }

    /// Without a URI given, stored or configured, registering is a conflict and nothing is sent; a configured one is used.
    @Test func registerWithoutURI() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        #expect(registryError { try fixture.service().register() } == .noURI)
        #expect(fixture.registry.requests.isEmpty)
        let unregistered = try fixture.service().status()
        #expect(unregistered.registered == false)
        #expect(unregistered.agentId == nil)
        #expect(unregistered.uri == nil)
        #expect(unregistered.lastSyncAt == nil)

        let configured = fixture.service(publicURI: "https://configured.example.com")
        let answer = try configured.register()
        #expect(answer.ok == true)
        #expect(fixture.registry.registrations.first?["uri"] == "https://configured.example.com")
        #expect(try configured.status().uri == "https://configured.example.com")
    }

    /// Registering again answers the same agent id without a second registration; a different URI goes out as an update.
    @Test func registerIsIdempotent() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        let first = try service.register(uri: "https://agent.example.com")
        let second = try service.register()
        let third = try service.register(uri: "https://agent.example.com")
        #expect(first == second && second == third)
        #expect(fixture.registry.registrations.count == 1)
        #expect(fixture.registry.uriUpdates.isEmpty)

        let moved = try service.register(uri: "https://moved.example.com")
        #expect(moved == first)
        #expect(fixture.registry.registrations.count == 1)
        #expect(fixture.registry.uriUpdates.map(\.uri) == ["https://moved.example.com"])
        #expect(try service.status().uri == "https://moved.example.com")
    }

    /// A URI set before registering is stored (no registry call), wins over the settings file, and is what registering sends.
    @Test func updateURIBeforeRegistering() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(publicURI: "https://from-settings.example.com")
        #expect(try service.status().uri == "https://from-settings.example.com")

        let answer = try service.updateURI("https://from-api.example.com:8443/agent")
        #expect(answer == AgentURIUpdate(registered: false))
        #expect(fixture.registry.requests.isEmpty)
        #expect(try service.status().uri == "https://from-api.example.com:8443/agent")

        _ = try service.register()
        #expect(fixture.registry.registrations.first?["uri"] == "https://from-api.example.com:8443/agent")
        // Another process (or a restart) with the same settings sees the stored URI too.
        let other = fixture.service(publicURI: "https://from-settings.example.com", database: try fixture.reopenedDatabase())
        #expect(try other.status().uri == "https://from-api.example.com:8443/agent")
    }

    /// Relative URLs, `javascript:`, other schemes, credentials and malformed text are refused (400) and change nothing.
    @Test(arguments: [
        "/relative/path", "agent.example.com", "javascript:alert(1)", "JavaScript://%0Aalert(1)", "ftp://agent.example.com",
        "file:///etc/passwd", "data:text/html,hi", "https://user:hunter2@agent.example.com", "https://user@agent.example.com", "",
        "http://", "https:agent.example.com", "https://agent example.com", "https://agent.example.com/\n", "http:\\\\evil.example.com",
        "https://agent.example.com:99999",
    ])
    func updateURIRejects(uri: String) throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(publicURI: "https://kept.example.com")
        let error = registryError { try service.updateURI(uri) }
        guard case .badURI(let reason) = error else {
            Issue.record("expected badURI, got \(String(describing: error))")
            return
        }
        #expect(!reason.contains("hunter2"))
        #expect(registryError { try service.register(uri: uri) } == error)
        #expect(try service.status().uri == "https://kept.example.com")
        #expect(fixture.registry.requests.isEmpty)
    }

    /// When registered, the URI goes to the registry with the secret as a Bearer token first; a refusal stores nothing.
    @Test func updateURIWhenRegistered() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        let agentId = try service.register(uri: "https://old.example.com").agentId

        #expect(try service.updateURI("http://new.example.com") == AgentURIUpdate(registered: true))
        #expect(fixture.registry.uriUpdates.map(\.uri) == ["http://new.example.com"])
        let put = try #require(fixture.registry.requests.last)
        #expect(put.method == "PUT" && put.path == "/v1/agents/\(agentId)")
        #expect(put.header("Authorization") == "Bearer \(fixture.registry.agent(agentId)!.secret)")
        #expect(try service.status().uri == "http://new.example.com")

        fixture.registry.set(.failing(500))
        #expect(registryError { try service.updateURI("https://refused.example.com") }
            == .refused(status: 500, message: "the registry is down for maintenance"))
        #expect(try service.status().uri == "http://new.example.com")
        #expect(try service.status().lastError?.contains("down for maintenance") == true)

        fixture.registry.stop()
        guard case .unreachable = registryError({ try service.updateURI("https://unreachable.example.com") }) else {
            Issue.record("expected unreachable")
            return
        }
        #expect(try service.status().uri == "http://new.example.com")
    }

    /// A registry that forgot the agent (404) gets a new registration carrying the new URI.
    @Test func updateURIAfterTheRegistryForgot() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        let first = try service.register(uri: "https://old.example.com").agentId
        fixture.registry.forgetAll()
        #expect(try service.updateURI("https://new.example.com") == AgentURIUpdate(registered: true))
        let status = try service.status()
        #expect(status.agentId != first)
        #expect(status.agentId == fixture.registry.agentIds.first!)
        #expect(status.uri == "https://new.example.com")
        #expect(fixture.registry.registrations.last?["uri"] == "https://new.example.com")
    }

    /// Sync sends the heartbeat now with the agent's state; not registered is a conflict.
    @Test func syncSendsTheHeartbeat() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        #expect(registryError { try service.sync() } == .notRegistered)
        #expect(fixture.registry.requests.isEmpty)

        let agentId = try service.register(uri: "https://agent.example.com").agentId
        let registeredAt = try service.status().lastSyncAt
        Thread.sleep(forTimeInterval: 0.01)
        #expect(try service.sync() == AgentSync())
        let heartbeat = try #require(fixture.registry.heartbeats.first)
        #expect(heartbeat.agentId == agentId)
        #expect(heartbeat.body["name"] == "test-agent")
        #expect(heartbeat.body["uri"] == "https://agent.example.com")
        #expect(heartbeat.body["version"] == "0.9.0-test")
        #expect(heartbeat.body["runtime"] == ["state": "running"])
        #expect(heartbeat.body["plugins"]?.arrayValue?.first
            == ["name": "@elizaos/plugin-discord", "version": "1.2.3", "installed": true, "enabled": true, "loaded": true])
        #expect(try service.status().lastSyncAt != registeredAt)
    }

    /// A 500 passes the registry's message on, a slow registry times out, a stopped one is unreachable, garbage is a protocol
    /// error; each shows in `lastError` until the next success clears it.
    @Test func syncFailures() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(timeout: .milliseconds(700))
        _ = try service.register(uri: "https://agent.example.com")

        fixture.registry.set(.failing(503))
        #expect(registryError { try service.sync() } == .refused(status: 503, message: "the registry is down for maintenance"))
        #expect(try service.status().lastError?.contains("HTTP 503") == true)

        fixture.registry.set(.slow(2))
        guard case .timedOut = registryError({ try service.sync() }) else {
            Issue.record("expected timedOut")
            return
        }
        fixture.registry.set(.garbage)
        guard case .protocolError = registryError({ try service.sync() }) else {
            Issue.record("expected protocolError")
            return
        }
        fixture.registry.set(.normal)
        #expect(try service.sync() == AgentSync())
        #expect(try service.status().lastError == nil)
        #expect(try service.status().registered == true)
    }

    /// Registration failures: unreachable, timed out, refused with the registry's message, and answers without usable credentials.
    @Test func registerFailures() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(timeout: .milliseconds(700))

        fixture.registry.set(.failing(422))
        #expect(registryError { try service.register(uri: "https://agent.example.com") }
            == .refused(status: 422, message: "the registry is down for maintenance"))
        fixture.registry.set(.slow(2))
        guard case .timedOut = registryError({ try service.register(uri: "https://agent.example.com") }) else {
            Issue.record("expected timedOut")
            return
        }
        fixture.registry.set(.garbage)
        guard case .protocolError = registryError({ try service.register(uri: "https://agent.example.com") }) else {
            Issue.record("expected protocolError for a non-JSON answer")
            return
        }
        fixture.registry.set(.badCredentials)
        guard case .protocolError(let detail) = registryError({ try service.register(uri: "https://agent.example.com") }) else {
            Issue.record("expected protocolError for an unusable secret")
            return
        }
        #expect(!detail.contains("short"))

        let closed = fixture.service(registryURL: "http://127.0.0.1:\(try LoopbackServer.closedPort())")
        guard case .unreachable = registryError({ try closed.register(uri: "https://agent.example.com") }) else {
            Issue.record("expected unreachable")
            return
        }
        let status = try service.status()
        #expect(status.registered == false)
        #expect(status.lastError != nil)

        fixture.registry.set(.normal)
        _ = try service.register(uri: "https://agent.example.com")
        #expect(try service.status().lastError == nil)
    }

    /// Sync to a registry that answers 404 for the agent registers it again and answers ok.
    @Test func syncRegistersAForgottenAgentAgain() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        let first = try service.register(uri: "https://agent.example.com").agentId
        fixture.registry.forgetAll()
        #expect(try service.sync() == AgentSync())
        #expect(fixture.registry.registrations.count == 2)
        let status = try service.status()
        #expect(status.registered == true)
        #expect(status.agentId != first)
        #expect(status.lastError == nil)
        #expect(try service.sync() == AgentSync())
        #expect(fixture.registry.heartbeats.count == 1)
    }

    /// The registration (id and secret) lives in the database: a new service over it is registered and can send heartbeats.
    @Test func restartKeepsTheRegistration() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let agentId = try fixture.service().register(uri: "https://agent.example.com").agentId

        let restarted = fixture.service(database: try fixture.reopenedDatabase())
        let status = try restarted.status()
        #expect(status.registered == true)
        #expect(status.agentId == agentId)
        #expect(status.uri == "https://agent.example.com")
        #expect(try restarted.register() == AgentRegistration(agentId: agentId))
        #expect(try restarted.sync() == AgentSync())
        #expect(fixture.registry.registrations.count == 1)
        #expect(fixture.registry.heartbeats.map(\.agentId) == [agentId])
    }

    /// A registration belongs to its registry: after `agentRegistryUrl` changes, the agent is not registered there.
    @Test func anotherRegistryURLMeansNotRegistered() throws {
        let fixture = try Fixture()
        let second = try FakeAgentRegistry()
        defer {
            fixture.registry.stop()
            second.stop()
        }
        _ = try fixture.service().register(uri: "https://agent.example.com")
        let moved = fixture.service(registryURL: second.url + "/")
        #expect(try moved.status().registered == false)
        #expect(try moved.status().registryUrl == second.url)
        #expect(registryError { try moved.sync() } == .notRegistered)
        let answer = try moved.register()
        #expect(answer.agentId == second.agentIds.first!)
        #expect(second.registrations.first?["uri"] == "https://agent.example.com")
    }

    /// The secret is never returned, thrown or logged, even when the registry echoes it back in its errors.
    @Test func theSecretNeverLeaks() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        var outputs: [String] = []
        func keep(_ value: some Encodable) { outputs.append((try? wireText(value)) ?? "not encodable") }
        func keep(_ error: AgentRegistryError?) { outputs.append(error.map { "\($0)" } ?? "no error") }

        keep(try service.register(uri: "https://agent.example.com"))
        keep(try service.register())
        keep(try service.sync())
        keep(try service.updateURI("https://other.example.com"))
        keep(try service.status())
        keep(service.config())
        for status in [401, 403, 404, 500] {
            fixture.registry.set(.echoing(status))
            keep(registryError { try service.sync() })
            keep(registryError { try service.updateURI("https://third.example.com") })
            keep(try service.status())
        }
        fixture.registry.set(.normal)
        service.start()
        #expect(eventually(within: 3) { fixture.registry.heartbeats.count >= 2 })
        service.stop()
        keep(try service.status())

        let secrets = fixture.registry.secrets
        #expect(!secrets.isEmpty)
        #expect(outputs.contains { $0.contains("token rejected") })
        for secret in secrets {
            for output in outputs { #expect(!output.contains(secret)) }
            for line in fixture.logs.all { #expect(!line.contains(secret)) }
        }
        #expect(!fixture.logs.all.isEmpty)
    }

    /// `config` shows the settings and nothing secret.
    @Test func configShowsTheSettings() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let configuration = AgentRegistryConfiguration(
            registryURL: "https://registry.example.com//", autoRegister: true, syncIntervalMs: 60_000, agentName: "milady",
            publicURI: "https://agent.example.com")
        let service = AgentRegistryService(
            configuration: configuration, client: HTTPClient(), database: fixture.database, content: { testContent() })
        #expect(try JSONEncoding.value(service.config()) == [
            "registryUrl": "https://registry.example.com", "autoRegister": true, "syncInterval": 60000, "agentName": "milady",
            "publicUri": "https://agent.example.com",
        ])
    }

    /// Plain http to a registry off this machine is refused before anything (the secret included) is sent.
    @Test func plainHTTPRegistryOnlyOnLoopback() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(registryURL: "http://registry.example.com")
        guard case .unreachable(let detail) = registryError({ try service.register(uri: "https://agent.example.com") }) else {
            Issue.record("expected unreachable")
            return
        }
        #expect(detail.contains("https"))
    }

    /// Credentials in the registry URL are masked in status and config, and nothing is sent to such a URL.
    @Test func registryURLCredentialsAreMasked() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let url = fixture.registry.url.replacingOccurrences(of: "http://", with: "http://admin:hunter2@")
        let service = fixture.service(registryURL: url)
        #expect(try service.status().registryUrl.contains("hunter2") == false)
        #expect(service.config().registryUrl.contains("hunter2") == false)
        let error = registryError { try service.register(uri: "https://agent.example.com") }
        guard case .unreachable(let detail) = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(!detail.contains("hunter2"))
        #expect(fixture.registry.requests.isEmpty)
        #expect(fixture.logs.all.allSatisfy { !$0.contains("hunter2") })
    }

    /// A `publicUri` setting that is not an absolute http(s) URL is neither used nor shown.
    @Test func badPublicURISettingIsIgnored() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service(publicURI: "https://admin:hunter2@agent.example.com")
        #expect(try service.status().uri == nil)
        #expect(service.config().publicUri == nil)
        #expect(registryError { try service.register() } == .noURI)
        #expect(fixture.logs.all.contains { $0.contains("publicUri setting is ignored") })
        #expect(fixture.logs.all.allSatisfy { !$0.contains("hunter2") })
    }
}
