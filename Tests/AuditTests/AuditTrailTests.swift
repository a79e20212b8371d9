import Audit
import Foundation
import JSON
import Logging
import Operations
import Stores
import Testing

/// The trail over a real database and agent config file in a temporary directory.
final class TrailWorld: @unchecked Sendable {
    let directory = NSTemporaryDirectory() + "audit-" + UUID().uuidString
    let database: StateDB
    let file: AgentConfigFile
    let trail: AuditTrail

    init(days: Int = 90, maxEntries: Int = 100_000) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        database = try StateDB(path: directory + "/state.db")
        file = AgentConfigFile(path: directory + "/milady.json")
        trail = Self.trail(database: database, file: file, directory: directory, days: days, maxEntries: maxEntries)
        file.keepJournal(trail)
    }

    /// Another process's trail on the same state (a restart).
    static func trail(database: StateDB, file: AgentConfigFile, directory: String, days: Int = 90, maxEntries: Int = 100_000) -> AuditTrail {
        AuditTrail(
            store: AuditStore(db: database), configFile: file, retention: .init(days: days, maxEntries: maxEntries),
            pause: CrashTestPause(environment: [:], directory: directory), logger: Logger(label: "audit-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func scope(_ route: String = "/api/plugins/:id", target: String? = "@acme/plugin-x") -> AuditScope {
        trail.begin(requestId: "r" + UUID().uuidString.prefix(8), role: "admin", tokenId: "tok_0123456789ab", tokenLabel: "ci", method: "PUT", route: route, target: target)
    }

    func entries(_ query: AuditStore.Query = .init(limit: 500)) throws -> [AuditEntry] { try trail.store.list(query).entries }
}

@Suite struct AuditTrailTests {
    /// A request that writes the config once gets one entry with its changes, settled when answered; the secret
    /// value it wrote is nowhere in the database file.
    @Test func oneEntryPerRequest() throws {
        let world = try TrailWorld()
        let scope = world.scope()
        try scope.run {
            try world.file.update { $0["env"] = .object(["X_API_KEY": .string("sk-very-secret-value-1234")]) }
            try world.file.update { $0["plugins"] = .object(["entries": .object(["@acme/plugin-x": .object(["enabled": .bool(true)])])]) }
        }
        scope.finish(status: 200)
        let entries = try world.entries()
        #expect(entries.count == 1)
        let entry = try #require(entries.first)
        #expect(entry.status == 200 && entry.tokenId == "tok_0123456789ab" && entry.tokenLabel == "ci" && entry.target == "@acme/plugin-x")
        #expect(JSONWriter.compact(.array(entry.changes)) == #"[{"plugin":"@acme/plugin-x","kind":"setting","name":"X_API_KEY","action":"set"},{"plugin":"@acme/plugin-x","kind":"enabled","from":false,"to":true}]"#)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: world.directory + "/state.db"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: world.directory + "/state.db-wal"))) ?? Data())
        #expect(bytes.range(of: Data("sk-very-secret-value-1234".utf8)) == nil)
        #expect(try world.trail.store.list(.init()).next == nil)
    }

    /// A request that writes nothing is stored once, when answered; writes outside any request are not audited.
    @Test func answeredWithoutWrites() throws {
        let world = try TrailWorld()
        try world.file.update { $0["env"] = .object(["A": .string("1")]) }
        #expect(try world.entries().isEmpty)
        let scope = world.scope("/api/registry/refresh", target: nil)
        scope.finish(status: 502)
        let entry = try #require(try world.entries().first)
        #expect(entry.status == 502 && entry.changes.isEmpty && entry.outcome == nil)
    }

    /// An operation started by the request gives the entry its id and final state; eject-like operations add their kind.
    @Test func operationOutcome() throws {
        let world = try TrailWorld()
        let scope = world.scope("/api/plugins/:id/eject")
        scope.run {
            world.trail.operationStarted(id: "op-1", kind: "eject", target: "@acme/plugin-x")
            world.trail.operationFinished(id: "op-1", kind: "eject", target: "@acme/plugin-x", succeeded: true)
        }
        scope.finish(status: 200)
        let entry = try #require(try world.entries().first)
        #expect(entry.operationId == "op-1" && entry.outcome == "succeeded")
        #expect(JSONWriter.compact(.array(entry.changes)) == #"[{"plugin":"@acme/plugin-x","kind":"ejected"}]"#)
    }

    /// Killed after the intent, before the write: the next start voids the entry and the file is the old one.
    /// Killed after the write, before completion: the next start completes it (status null, operation interrupted).
    @Test func recovery() throws {
        let world = try TrailWorld()
        try world.file.update { $0["env"] = .object(["A": .string("1")]) }
        // The intent of a write that never happened: stored as a killed process leaves it.
        var ghost = AuditRow(time: ISOTime.string(), requestId: "ghost", role: "admin", tokenId: nil, tokenLabel: nil, method: "PUT", route: "/api/plugins/:id",
            target: "x", owner: ProcessOwner(pid: Self.deadPid(), token: "t"))
        ghost.pendingHash = String(repeating: "0", count: 64)
        ghost.pendingChanges = [.object(["plugin": "x", "kind": "setting", "name": "A", "action": "changed"])]
        try world.trail.store.save(&ghost)
        // A write that happened (the file has its hash) but was never marked done, in an operation still running.
        var done = AuditRow(time: ISOTime.string(), requestId: "done", role: "admin", tokenId: nil, tokenLabel: nil, method: "POST", route: "/api/plugins/install",
            target: "y", owner: ProcessOwner(pid: Self.deadPid(), token: "t"))
        done.pendingHash = world.file.currentHash()
        done.pendingChanges = [.object(["plugin": "y", "kind": "version", "from": .null, "to": "1.0.0"])]
        done.operationId = "op"
        done.outcome = "running"
        try world.trail.store.save(&done)
        // An earlier write that completed, then an intent that did not: the entry keeps the first write.
        var half = AuditRow(time: ISOTime.string(), requestId: "half", role: "admin", tokenId: nil, tokenLabel: nil, method: "PUT", route: "/api/plugins/:id",
            target: "z", owner: ProcessOwner(pid: Self.deadPid(), token: "t"))
        half.changes = [.object(["plugin": "z", "kind": "enabled", "from": false, "to": true])]
        half.pendingHash = String(repeating: "1", count: 64)
        half.pendingChanges = [.object(["plugin": "z", "kind": "setting", "name": "B", "action": "set"])]
        try world.trail.store.save(&half)
        #expect(try world.entries().map(\.requestId) == ["half"])

        let restarted = TrailWorld.trail(database: world.database, file: world.file, directory: world.directory)
        let result = try restarted.recoverInterrupted()
        #expect(result.completed == 2 && result.voided == 1)
        let entries = try world.entries()
        #expect(Set(entries.map(\.requestId)) == ["done", "half"])
        let recovered = try #require(entries.first { $0.requestId == "done" })
        #expect(recovered.status == nil && recovered.outcome == "interrupted" && recovered.changes.count == 1)
        #expect(try #require(entries.first { $0.requestId == "half" }).changes.count == 1)
        #expect(try world.trail.store.orphans { _ in false }.isEmpty)
    }

    /// Retention: past the count, the oldest go; past the age, the old go; pages follow each other without overlap.
    @Test func retentionAndPages() throws {
        let world = try TrailWorld(days: 30, maxEntries: 5)
        var old = AuditRow(time: "2020-01-01T00:00:00.000Z", requestId: "old", role: "admin", tokenId: nil, tokenLabel: nil, method: "PUT", route: "/api/x",
            target: nil, owner: ProcessOwner(pid: 1, token: "t"))
        old.settled = true
        try world.trail.store.save(&old)
        for _ in 0..<7 { world.scope(target: nil).finish(status: 200) }
        #expect(try world.trail.store.count() == 8)
        #expect(world.trail.pruneNow() == 3)
        let kept = try world.entries()
        #expect(kept.count == 5 && !kept.contains { $0.requestId == "old" })
        let first = try world.trail.store.list(.init(limit: 2))
        let second = try world.trail.store.list(.init(limit: 2, after: first.next))
        #expect(first.entries.count == 2 && second.entries.count == 2)
        #expect(Set(first.entries.map(\.id)).isDisjoint(with: second.entries.map(\.id)))
        #expect(first.entries.map(\.id) + second.entries.map(\.id) == kept.prefix(4).map(\.id))
    }

    /// The plugin filter matches the target and any change's plugin.
    @Test func pluginFilter() throws {
        let world = try TrailWorld()
        let scope = world.scope(target: "@acme/plugin-a")
        try scope.run { try world.file.update { $0["plugins"] = .object(["installs": .object(["@acme/plugin-b": .object(["version": "1.0.0"])])]) } }
        scope.finish(status: 200)
        world.scope(target: "@acme/plugin-c").finish(status: 200)
        #expect(try world.entries(.init(subjects: ["@acme/plugin-b"])).count == 1)
        #expect(try world.entries(.init(subjects: ["@acme/plugin-a"])).count == 1)
        #expect(try world.entries(.init(subjects: ["@acme/plugin-a", "@acme/plugin-c"])).count == 2)
        #expect(try world.entries(.init(subjects: ["nothing"])).isEmpty)
    }

    static func deadPid() -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try? process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
