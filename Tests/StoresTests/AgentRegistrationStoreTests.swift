import Foundation
import Testing
@testable import Stores

@Suite struct AgentRegistrationStoreTests {
    let store: AgentRegistrationStore
    let t1 = Date(timeIntervalSince1970: 1_770_000_000.25)
    let t2 = Date(timeIntervalSince1970: 1_770_000_060.5)

    init() throws {
        store = AgentRegistrationStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
    }

    /// Never registered: an empty record.
    @Test func emptyRegistration() throws {
        #expect(try store.load() == AgentRegistrationStore.Record())
    }

    /// A URI set before registering is kept by a registration that brings none, and replaced by one that does.
    @Test func registrationKeepsAnEarlierURI() throws {
        try store.saveURI("https://agent.example/one")
        try store.recordFailure("refused", at: t1)
        try store.saveRegistration(registryURL: "https://reg.example", agentId: "ag-1", secret: "s1", uri: nil, at: t2, nextSyncAt: t2 + 60)
        var record = try store.load()
        #expect(record.registryURL == "https://reg.example" && record.agentId == "ag-1" && record.secret == "s1")
        #expect(record.uri == "https://agent.example/one" && record.registeredAt == t2 && record.lastSyncAt == t2 && record.nextSyncAt == t2 + 60)
        #expect(record.lastError == nil && record.lastErrorAt == nil)

        try store.saveRegistration(registryURL: "https://reg.example", agentId: "ag-2", secret: "s2", uri: "https://agent.example/two", at: t1, nextSyncAt: nil)
        record = try store.load()
        #expect(record.agentId == "ag-2" && record.secret == "s2" && record.uri == "https://agent.example/two" && record.nextSyncAt == nil)
    }

    /// Syncs and accepted URIs end an error; failures and the next sync time are recorded on their own.
    @Test func syncsAndFailures() throws {
        try store.saveRegistration(registryURL: "https://reg.example", agentId: "ag-1", secret: "s1", uri: nil, at: t1, nextSyncAt: nil)
        try store.recordFailure("503", at: t2)
        var record = try store.load()
        #expect(record.lastError == "503" && record.lastErrorAt == t2 && record.lastSyncAt == t1)

        try store.recordSync(at: t2, nextSyncAt: t2 + 30)
        record = try store.load()
        #expect(record.lastError == nil && record.lastErrorAt == nil && record.lastSyncAt == t2 && record.nextSyncAt == t2 + 30)

        try store.recordFailure("timeout", at: t2)
        try store.saveAcceptedURI("https://agent.example/new")
        record = try store.load()
        #expect(record.uri == "https://agent.example/new" && record.lastError == nil && record.lastErrorAt == nil)

        try store.saveNextSync(t1)
        #expect(try store.load().nextSyncAt == t1)
        try store.saveNextSync(nil)
        record = try store.load()
        #expect(record.nextSyncAt == nil && record.agentId == "ag-1" && record.registeredAt == t1)
    }
}
