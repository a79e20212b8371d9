import Foundation
import JSON
import Testing
import TestSupport
@testable import AgentRegistry

/// The exact bytes the registry is sent and the API answers: key order included, as clients and the registry see them.
@Suite struct WireBytesTests {
    static let announcement =
        #"{"name":"test-agent","uri":"https://agent.example.com/","version":"0.9.0-test","runtime":{"state":"running"},"plugins":["#
        + #"{"name":"@elizaos/plugin-discord","version":"1.2.3","installed":true,"enabled":true,"loaded":true},"#
        + #"{"name":"@elizaos/plugin-sql","version":null,"installed":false,"enabled":true,"loaded":false}]}"#

    /// Registration, heartbeat and update-uri bodies, and the answers register, sync and update-uri give.
    @Test func requestAndAnswerBytes() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let service = fixture.service()
        let registered = try service.register(uri: "https://agent.example.com/")
        let agentId = try #require(fixture.registry.agentIds.first)
        #expect(try wireText(registered) == #"{"ok":true,"agentId":"\#(agentId)"}"#)
        #expect(try wireText(service.sync()) == #"{"ok":true}"#)
        #expect(try wireText(service.updateURI("https://moved.example.com")) == #"{"ok":true,"registered":true}"#)
        let bodies = fixture.registry.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies == [Self.announcement, Self.announcement, #"{"uri":"https://moved.example.com"}"#])

        let unregistered = fixture.service(registryURL: fixture.registry.url + "/other")
        #expect(try wireText(unregistered.updateURI("https://later.example.com")) == #"{"ok":true,"registered":false}"#)
    }

    /// The heartbeat body without a URI, and with the content's own name.
    @Test func heartbeatBodyBytes() throws {
        #expect(try wireText(testContent(name: "milady").body(defaultName: "agent", uri: nil)) ==
            #"{"name":"milady","uri":null,"version":"0.9.0-test","runtime":{"state":"running"},"plugins":["#
            + #"{"name":"@elizaos/plugin-discord","version":"1.2.3","installed":true,"enabled":true,"loaded":true},"#
            + #"{"name":"@elizaos/plugin-sql","version":null,"installed":false,"enabled":true,"loaded":false}]}"#)
    }

    /// Status before registering, and the settings.
    @Test func statusAndConfigBytes() throws {
        let fixture = try Fixture()
        defer { fixture.registry.stop() }
        let url = fixture.registry.url
        #expect(try wireText(fixture.service().status()) ==
            #"{"registered":false,"agentId":null,"registryUrl":"\#(url)","uri":null,"lastSyncAt":null,"lastError":null,"nextSyncAt":null}"#)
        #expect(try wireText(fixture.service(publicURI: "https://agent.example.com").config()) ==
            #"{"registryUrl":"\#(url)","autoRegister":false,"syncInterval":200,"agentName":"test-agent","publicUri":"https://agent.example.com"}"#)
        #expect(try wireText(fixture.service().config()) ==
            #"{"registryUrl":"\#(url)","autoRegister":false,"syncInterval":200,"agentName":"test-agent","publicUri":null}"#)
    }
}

/// A value as the wire carries it.
func wireText(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoding.bytes(value), as: UTF8.self) }
