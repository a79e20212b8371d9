import Foundation
import JSON
import Logging
import Synchronization
import Testing
@testable import Operations
@testable import Stores

func makeRunner(maxConcurrent: Int = 4, deadline: Duration = .seconds(30)) throws -> (OperationRunner, StateDB) {
    let dir = NSTemporaryDirectory() + "plugind-ops-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let db = try StateDB(path: dir + "/state.db")
    let runner = OperationRunner(
        store: OperationStore(db: db), maxConcurrent: maxConcurrent, deadline: deadline,
        scrub: { $0.replacingOccurrences(of: "hunter2", with: "****") }, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    return (runner, db)
}

/// A latch a test opens to let a blocked operation finish.
final class Gate: Sendable {
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
}

/// Starts a "test" operation on another thread that holds until the gate is released.
func startBlocking(_ runner: OperationRunner, target: String, gate: Gate) -> Thread {
    let thread = Thread {
        _ = try? runner.run(kind: "test", target: target) { _ in
            gate.entered.signal()
            gate.release.wait()
            return ["done": true]
        }
    }
    thread.start()
    gate.entered.wait()
    return thread
}

@Suite struct OperationRunnerTests {
    /// A finished operation is recorded with its result, phase, progress and scrubbed log.
    @Test func recordsSuccess() throws {
        let (runner, _) = try makeRunner()
        let id = UUID().uuidString
        let record = try runner.run(kind: "test", target: "pkg-a", operationId: id, requestId: "r1") { ctx in
            ctx.phase("downloading", progress: 0.5)
            ctx.log("password hunter2 used")
            return ["value": 42]
        }
        #expect(record.id == id.lowercased())
        #expect(record.state == .succeeded)
        #expect(record.phase == "done")
        #expect(record.progress == 1.0)
        #expect(record.result == ["value": 42])
        #expect(record.logTail == ["password **** used"])
        #expect(record.finishedAt != nil)
        #expect(try runner.store.list(target: "pkg-a").map(\.id) == [id.lowercased()])
    }

    /// The operation is visible as running while its work runs, under the id the client chose.
    @Test func visibleWhileRunning() throws {
        let (runner, _) = try makeRunner()
        let gate = Gate()
        _ = startBlocking(runner, target: "pkg-b", gate: gate)
        let running = try runner.store.list(state: .running)
        #expect(running.count == 1 && running[0].target == "pkg-b")
        gate.release.signal()
        while try runner.store.list(state: .running).count > 0 { usleep(5_000) }
        #expect(try runner.store.list(state: .succeeded).count == 1)
    }

    /// A second operation on the same target is refused with the running one's id; other targets proceed.
    @Test func exclusionPerTarget() throws {
        let (runner, _) = try makeRunner()
        let gate = Gate()
        _ = startBlocking(runner, target: "pkg-c", gate: gate)
        let runningId = try #require(try runner.store.list(state: .running).first?.id)
        #expect(throws: OperationError.busy(target: "pkg-c", operationId: runningId)) {
            try runner.run(kind: "test", target: "pkg-c") { _ in nil }
        }
        #expect(try runner.run(kind: "test", target: "pkg-d") { _ in nil }.state == .succeeded)
        gate.release.signal()
    }

    /// Beyond the cap of long operations the next one is refused at once.
    @Test func cap() throws {
        let (runner, _) = try makeRunner(maxConcurrent: 2)
        let gates = [Gate(), Gate()]
        _ = startBlocking(runner, target: "x1", gate: gates[0])
        _ = startBlocking(runner, target: "x2", gate: gates[1])
        #expect(throws: OperationError.tooMany(limit: 2)) { try runner.run(kind: "test", target: "x3") { _ in nil } }
        gates.forEach { $0.release.signal() }
        while try runner.store.list(state: .running).count > 0 { usleep(5_000) }
        #expect(try runner.run(kind: "test", target: "x3") { _ in nil }.state == .succeeded)
    }

    /// Work past the deadline fails as such, and the record says so; step timeouts shrink to the time left.
    @Test func deadline() throws {
        let (runner, _) = try makeRunner(deadline: .milliseconds(150))
        #expect(throws: OperationError.deadlineExceeded(step: "npm")) {
            try runner.run(kind: "test", target: "slow") { ctx in
                #expect(ctx.stepTimeoutMs(300_000) <= 150)
                usleep(200_000)
                try ctx.checkDeadline("npm")
                return nil
            }
        }
        let record = try #require(try runner.store.list(target: "slow").first)
        #expect(record.state == .failed)
        #expect(record.error?.contains("ran out of time") == true)
    }

    /// A client-chosen id must be a UUID and unused.
    @Test func operationIds() throws {
        let (runner, _) = try makeRunner()
        #expect(throws: OperationError.invalidId("not-a-uuid")) { try runner.run(kind: "test", target: "t", operationId: "not-a-uuid") { _ in nil } }
        let id = UUID().uuidString
        try runner.run(kind: "test", target: "t", operationId: id) { _ in nil }
        #expect(throws: OperationError.duplicateId(id.lowercased())) { try runner.run(kind: "test", target: "t2", operationId: id) { _ in nil } }
    }

    /// After a crash: a dead owner's operation is settled by its kind's recovery; a live owner's is left alone.
    @Test func recovery() throws {
        final class CommittedIfCheckpointSaysSo: OperationRecovery {
            let seen = Mutex<[String]>([])
            func recover(_ record: OperationRecord) -> Bool {
                seen.withLock { $0.append(record.id) }
                return record.checkpoint?["committed"] == .bool(true)
            }
        }
        let recovery = CommittedIfCheckpointSaysSo()
        let (runner, db) = try makeRunner()
        let store = OperationStore(db: db)
        let dead = OperationOwner(pid: 999_999, token: "gone")
        for (id, committed) in [("11111111-1111-1111-1111-111111111111", true), ("22222222-2222-2222-2222-222222222222", false)] {
            #expect(try store.begin(OperationRecord(id: id, kind: "test", target: "t-\(id.prefix(1))", requestId: nil), owner: dead) == .started)
            try store.update(id: id, phase: "installing", progress: 0.8, logTail: [], checkpoint: ["committed": .bool(committed)])
        }
        let otherKind = "33333333-3333-3333-3333-333333333333"
        #expect(try store.begin(OperationRecord(id: otherKind, kind: "unknown-kind", target: "t3", requestId: nil), owner: dead) == .started)
        let live = "44444444-4444-4444-4444-444444444444"
        #expect(try store.begin(OperationRecord(id: live, kind: "test", target: "t4", requestId: nil), owner: OperationOwner(pid: 1, token: "init")) == .started)

        let recovered = try runner.recoverInterrupted(using: ["test": recovery])
        #expect(Set(recovered.map(\.id)) == ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", otherKind])
        #expect(try store.get("11111111-1111-1111-1111-111111111111")?.state == .succeeded)
        #expect(try store.get("22222222-2222-2222-2222-222222222222")?.state == .failed)
        #expect(try store.get(otherKind)?.state == .failed)
        #expect(try store.get(live)?.state == .running)
        #expect(recovery.seen.withLock { $0.count } == 2)
        // A committed one answers something, never null: here only the note; a restored one has no result.
        #expect(try store.get("11111111-1111-1111-1111-111111111111")?.result
            == ["ok": true, "warnings": ["plugind stopped after the change was committed; it is complete."]])
        #expect(try store.get("22222222-2222-2222-2222-222222222222")?.result == nil)
        #expect(try store.get(otherKind)?.result == nil)
    }

    /// The result a recovery rebuilt is recorded as it gave it, members in order, with its note after the warnings
    /// it already had; a restored operation's rebuilt result is not recorded (it did not happen).
    @Test func recoveredResultKeepsItsMembersAndGetsTheNote() throws {
        struct Answer: Encodable {
            let ok = true
            let version: String
            let loaded: Bool?
            let warnings: [String]
        }
        struct Rebuilds: OperationRecovery {
            func recover(_ record: OperationRecord) -> Bool { record.checkpoint?["committed"] == .bool(true) }
            func recoverWithResult(_ record: OperationRecord) -> Recovered {
                Recovered(committed: recover(record), note: "plugind stopped; the change is complete.",
                          result: Answer(version: "2.0.0", loaded: nil, warnings: ["deprecated"]))
            }
        }
        let (runner, db) = try makeRunner()
        let store = OperationStore(db: db)
        let dead = OperationOwner(pid: 999_999, token: "gone")
        for (id, committed) in [("55555555-5555-5555-5555-555555555555", true), ("66666666-6666-6666-6666-666666666666", false)] {
            #expect(try store.begin(OperationRecord(id: id, kind: "test", target: "t-\(id.prefix(1))", requestId: nil), owner: dead) == .started)
            try store.update(id: id, phase: "activating", progress: 0.9, logTail: [], checkpoint: ["committed": .bool(committed)])
        }
        try runner.recoverInterrupted(using: ["test": Rebuilds()])
        let committed = try #require(try store.get("55555555-5555-5555-5555-555555555555"))
        #expect(committed.state == .succeeded)
        #expect(committed.result?.objectValue?.keys == ["ok", "version", "loaded", "warnings"])
        #expect(committed.result?["loaded"] == .null && committed.result?["version"] == "2.0.0")
        #expect(committed.result?["warnings"] == ["deprecated", "plugind stopped; the change is complete."])
        let restored = try #require(try store.get("66666666-6666-6666-6666-666666666666"))
        #expect(restored.state == .failed && restored.result == nil)
        #expect(restored.error == "Interrupted: plugind stopped; the change is complete.")
    }

    /// After a crash, what the operation started and is still running (a program and its own child, in their process
    /// group) is ended before the kind's recovery touches anything; a group whose leader's number now belongs to a
    /// process started at another time is someone else's and is left alone.
    @Test func recoveryEndsTheGroupsAnOperationStarted() throws {
        final class SeesWhatRuns: OperationRecovery {
            let running = Mutex<[Int32]?>(nil)
            let group: ProcessGroup
            init(group: ProcessGroup) { self.group = group }
            func recover(_ record: OperationRecord) -> Bool {
                running.withLock { $0 = group.members() }
                return false
            }
        }
        let (runner, db) = try makeRunner()
        let store = OperationStore(db: db)
        let leader = try spawnGroup("sleep 60 & exec sleep 60")
        let bystander = try spawnGroup("exec sleep 60")
        defer { kill(-bystander, SIGKILL); kill(-leader, SIGKILL); reap(leader); reap(bystander) }
        let id = "55555555-5555-5555-5555-555555555555"
        #expect(try store.begin(OperationRecord(id: id, kind: "test", target: "t", requestId: nil), owner: OperationOwner(pid: 999_999, token: "gone")) == .started)
        let context = OperationContext(id: id, target: "t", deadline: .now + .seconds(30), store: store, scrub: { $0 })
        context.checkpoint(["step": "merging"])
        context.childStarted(leader)
        let group = try #require(ProcessGroup.led(by: leader))
        try wait { group.members().count == 2 }  // the shell's background sleep has started too
        // The bystander's number, with a start time that is not its own: a reused pid, never signalled.
        let reused = try #require(ProcessGroup.led(by: bystander))
        let stale = "66666666-6666-6666-6666-666666666666"
        #expect(try store.begin(OperationRecord(id: stale, kind: "other", target: "u", requestId: nil), owner: OperationOwner(pid: 999_999, token: "gone")) == .started)
        try store.update(id: stale, phase: "x", progress: nil, logTail: [], checkpoint: [
            "processGroups": [["pgid": .number(Int(bystander)), "start": .number(Int(reused.startTicks) + 1)]],
        ])
        #expect(try store.get(id)?.checkpoint?["step"]?.stringValue == "merging")
        #expect(ProcessGroup.recorded(in: try store.get(id)?.checkpoint) == [group])

        let recovery = SeesWhatRuns(group: group)
        try runner.recoverInterrupted(using: ["test": recovery])
        #expect(recovery.running.withLock { $0 } == [])
        #expect(group.members().isEmpty)
        #expect(reused.members() == [bystander])
        #expect(try store.get(id)?.state == .failed)
    }

    /// Filters by target and state, newest first.
    @Test func listing() throws {
        let (runner, _) = try makeRunner()
        try runner.run(kind: "test", target: "a") { _ in nil }
        _ = try? runner.run(kind: "test", target: "b") { _ in throw CancellationError() }
        #expect(try runner.store.list(state: .failed).map(\.target) == ["b"])
        #expect(try runner.store.list(target: "a").map(\.state) == [.succeeded])
        #expect(try runner.store.list().count == 2)
    }
}

/// Starts `/bin/sh -c script` as the leader of its own process group, as plugind starts npm and git.
func spawnGroup(_ script: String) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    var pid: pid_t = 0
    let words: [String] = ["/bin/sh", "-c", script]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { (word: String) in strdup(word) } + [nil]
    defer { argv.forEach { free($0) } }
    let status = posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, environ)
    guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
    return pid
}

func reap(_ pid: pid_t) {
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
}

func wait(_ condition: () -> Bool, seconds: Double = 10) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { throw CancellationError() }
        usleep(20_000)
    }
}
