import Foundation
import JSON
import Testing
@testable import Stores

@Suite struct OperationStoreTests {
    let store: OperationStore
    let me = OperationOwner(pid: getpid(), token: "me")

    init() throws {
        store = OperationStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
    }

    /// The change stamp moves with every write (start, progress, end) and with a commit by another connection
    /// (another process), and stays put while only reads happen: a list cached under it is current.
    @Test func changeStampFollowsWrites() throws {
        var seen: Set<String> = [store.changeStamp()]
        _ = try store.list()
        #expect(seen.contains(store.changeStamp()))
        #expect(try store.begin(OperationRecord(id: "c", kind: "install", target: "y", requestId: nil), owner: me) == .started)
        #expect(seen.insert(store.changeStamp()).inserted)
        try store.update(id: "c", phase: "downloading", progress: 0.5, logTail: ["npm: fetching"], checkpoint: nil)
        #expect(seen.insert(store.changeStamp()).inserted)
        try store.finish(id: "c", state: .succeeded, phase: "done", error: nil, result: nil, logTail: [])
        let finished = store.changeStamp()
        #expect(seen.insert(finished).inserted)
        _ = try store.get("c")
        #expect(store.changeStamp() == finished)
        // Another process's write: a second connection to the same file.
        let other = try StateDB(path: store.db.path)
        try other.pool.write { db in try db.execute(sql: "UPDATE operation SET phase = 'elsewhere' WHERE id = 'c'") }
        #expect(store.changeStamp() != finished)
    }

    /// One running operation per target; an id is never reused.
    @Test func beginRefusesDuplicatesAndBusyTargets() throws {
        #expect(try store.begin(OperationRecord(id: "a", kind: "install", target: "x", requestId: "r1"), owner: me) == .started)
        #expect(try store.begin(OperationRecord(id: "a", kind: "install", target: "y", requestId: nil), owner: me) == .duplicateId)
        #expect(try store.begin(OperationRecord(id: "b", kind: "install", target: "x", requestId: nil), owner: me) == .busy(runningId: "a"))
        #expect(try store.begin(OperationRecord(id: "c", kind: "install", target: "y", requestId: nil), owner: me) == .started)
        let a = try #require(try store.get("a"))
        #expect(a.state == .running && a.phase == "starting" && a.requestId == "r1" && a.logTail.isEmpty)
        #expect(a.result == nil && a.checkpoint == nil && a.finishedAt == nil)
        #expect(try store.get("b") == nil)
    }

    /// Progress, log and checkpoint are recorded; finishing sets the outcome, and a success's progress is complete.
    @Test func updateAndFinish() throws {
        #expect(try store.begin(OperationRecord(id: "a", kind: "install", target: "x", requestId: nil), owner: me) == .started)
        try store.update(id: "a", phase: "fetching", progress: 0.25, logTail: ["one", "two \"quoted\""], checkpoint: ["step": 2])
        var a = try #require(try store.get("a"))
        #expect(a.phase == "fetching" && a.progress == 0.25 && a.logTail == ["one", "two \"quoted\""] && a.checkpoint == ["step": 2])
        try store.finish(id: "a", state: .succeeded, phase: "done", error: nil, result: JSONWriter.compactBytes(["ok": true]), logTail: ["three"])
        a = try #require(try store.get("a"))
        #expect(a.state == .succeeded && a.phase == "done" && a.progress == 1.0 && a.result == ["ok": true] && a.logTail == ["three"])
        #expect(a.finishedAt != nil && a.error == nil)

        #expect(try store.begin(OperationRecord(id: "b", kind: "install", target: "x", requestId: nil), owner: me) == .started)
        try store.update(id: "b", phase: "fetching", progress: 0.5, logTail: [], checkpoint: nil)
        try store.finish(id: "b", state: .failed, phase: "fetching", error: "no network", result: nil, logTail: [])
        let b = try #require(try store.get("b"))
        #expect(b.state == .failed && b.progress == 0.5 && b.error == "no network" && b.result == nil)
    }

    /// Newest first, filtered by target and state, limited; ties keep the order of starting.
    @Test func listFiltersAndOrders() throws {
        for (id, target) in [("a", "x"), ("b", "y"), ("c", "x")] {
            var record = OperationRecord(id: id, kind: "install", target: target, requestId: nil)
            record.startedAt = "2026-01-01T00:00:00.000Z"
            #expect(try store.begin(record, owner: me) == .started)
            if id == "a" { try store.finish(id: "a", state: .failed, phase: "x", error: "e", result: nil, logTail: []) }
        }
        #expect(try store.list().map(\.id) == ["c", "b", "a"])
        #expect(try store.list(target: "x").map(\.id) == ["c", "a"])
        #expect(try store.list(state: .running).map(\.id) == ["c", "b"])
        #expect(try store.list(target: "x", state: .failed).map(\.id) == ["a"])
        #expect(try store.list(limit: 1).map(\.id) == ["c"])
    }

    /// Only running operations whose owner is gone are orphans.
    @Test func orphans() throws {
        let gone = OperationOwner(pid: 999_999, token: "gone")
        #expect(try store.begin(OperationRecord(id: "a", kind: "install", target: "x", requestId: nil), owner: gone) == .started)
        #expect(try store.begin(OperationRecord(id: "b", kind: "install", target: "y", requestId: nil), owner: me) == .started)
        #expect(try store.begin(OperationRecord(id: "c", kind: "install", target: "z", requestId: nil), owner: gone) == .started)
        try store.finish(id: "c", state: .succeeded, phase: "done", error: nil, result: nil, logTail: [])
        #expect(try store.orphans { $0 == me }.map(\.id) == ["a"])
    }
}
