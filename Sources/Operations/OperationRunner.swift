import CoreMetrics
import Foundation
import Glibc
import JSON
import Locking
import Logging
import Stores
import Synchronization

/// What a running operation can do: report its phase and progress, log, checkpoint, and ask for time left.
public final class OperationContext: @unchecked Sendable {
    public let id: String
    public let target: String
    public let deadline: ContinuousClock.Instant
    private let store: OperationStore
    private let scrub: @Sendable (String) -> String
    // Touched only by the thread running the operation.
    private var phase = "starting"
    private var progress: Double?
    private(set) var logTail: [String] = []
    /// The scrubbed log so far (the last lines), for error bodies.
    public var logLines: [String] { logTail }
    private var checkpoint: JSONValue?
    /// Every process group the operation started, persisted with the checkpoint so recovery can end what is left.
    private var groups: [ProcessGroup] = []
    static let tailLength = 50

    init(id: String, target: String, deadline: ContinuousClock.Instant, store: OperationStore, scrub: @escaping @Sendable (String) -> String) {
        self.id = id
        self.target = target
        self.deadline = deadline
        self.store = store
        self.scrub = scrub
    }

    /// Moves to a named phase; progress is 0…1 or nil when unknown.
    public func phase(_ name: String, progress: Double? = nil) {
        phase = name
        self.progress = progress.map { min(1, max(0, $0)) }
        persist()
    }

    public func log(_ line: String) {
        for part in scrub(line).split(separator: "\n", omittingEmptySubsequences: true) {
            logTail.append(String(part.prefix(500)))
        }
        if logTail.count > Self.tailLength { logTail.removeFirst(logTail.count - Self.tailLength) }
        persist()
    }

    /// Records how far the work got, so recovery after a crash knows what to undo.
    public func checkpoint(_ value: JSONValue) {
        checkpoint = value
        persist()
    }

    /// A child started in its own process group (npm, git, a build): recorded before it can do much, so that
    /// after a crash recovery ends whatever of it still runs before it touches the directories the child used.
    public func childStarted(_ pid: Int32) {
        guard let group = ProcessGroup.led(by: pid) else { return }
        groups.append(group)
        persist()
    }

    /// The time left before the deadline; a step's timeout is the smaller of its own and this.
    public var timeLeft: Duration { max(.zero, ContinuousClock.now.duration(to: deadline)) }

    /// The smaller of a step's default timeout and the time left, in milliseconds.
    public func stepTimeoutMs(_ defaultMs: Int) -> Int {
        let left = timeLeft.components
        let leftMs = Int(left.seconds) * 1000 + Int(left.attoseconds / 1_000_000_000_000_000)
        return max(0, min(defaultMs, leftMs))
    }

    /// Throws when the deadline has passed.
    public func checkDeadline(_ step: String) throws {
        if ContinuousClock.now >= deadline { throw OperationError.deadlineExceeded(step: step) }
    }

    var currentPhase: String { phase }

    private func persist() {
        var stored = checkpoint
        if !groups.isEmpty, let recorded = try? JSONEncoding.value(groups.map(\.recorded)) {
            var object = checkpoint?.objectValue ?? [:]
            object["processGroups"] = recorded
            stored = .object(object)
        }
        try? store.update(id: id, phase: phase, progress: progress, logTail: logTail, checkpoint: stored)
    }
}

/// An error after which the operation still has something to record as its result (what a failed install did
/// before it failed: the verdict, the version put back), encoded like a success's result.
public protocol ResultCarryingError: Error {
    var operationResult: [UInt8]? { get }
}

/// Puts back what a crashed operation of one kind left behind; answers whether its commit point was reached.
public protocol OperationRecovery: Sendable {
    func recover(_ record: OperationRecord) -> Bool
    /// Whether the commit point was reached, and what exactly the operation's record should say about the state it
    /// left (nil: the general sentence for committed or restored).
    func recoverSaying(_ record: OperationRecord) -> (committed: Bool, note: String?)
    /// The same, with the result a committed operation answers (nil: the runner records `{ok: true, warnings}`).
    func recoverWithResult(_ record: OperationRecord) -> Recovered
}

extension OperationRecovery {
    public func recoverSaying(_ record: OperationRecord) -> (committed: Bool, note: String?) {
        (recover(record), nil)
    }

    public func recoverWithResult(_ record: OperationRecord) -> Recovered {
        let outcome = recoverSaying(record)
        return Recovered(committed: outcome.committed, note: outcome.note)
    }
}

/// What recovery made of an interrupted operation: whether its commit point was reached, what its record should say,
/// and, when committed, the result it would have answered as far as its checkpoint tells (the runner adds the note
/// to its `warnings`).
public struct Recovered: Sendable {
    public let committed: Bool
    public let note: String?
    public let result: JSONValue?

    public init(committed: Bool, note: String?, result: JSONValue? = nil) {
        self.committed = committed
        self.note = note
        self.result = result
    }

    public init(committed: Bool, note: String?, result: some Encodable) {
        self.init(committed: committed, note: note, result: try? JSONEncoding.value(result))
    }
}

/// Runs operations: registers them before work starts, one at a time per target, a bounded number
/// at once, each with an overall deadline, and recovers the ones a crash interrupted.
public final class OperationRunner: Sendable {
    public let store: OperationStore
    public let maxConcurrent: Int
    public let deadline: Duration
    private let owner: OperationOwner
    private let running = Locked(0)
    private let scrub: @Sendable (String) -> String
    private let logger: Logger
    /// Told of every operation's start and end (OperationObserver.swift).
    let observers = Locked<[any OperationObserver]>([])
    /// Operations by kind and outcome, their durations, and those running.
    let metrics: OperationMetrics

    public init(
        store: OperationStore, maxConcurrent: Int, deadline: Duration,
        scrub: @escaping @Sendable (String) -> String = { $0 }, logger: Logger, metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.metrics = OperationMetrics(factory: metrics)
        self.store = store
        self.maxConcurrent = maxConcurrent
        self.deadline = deadline
        self.scrub = scrub
        self.logger = logger
        self.owner = OperationOwner(pid: getpid(), token: UUID().uuidString)
    }

    /// Runs `work` as an operation and answers what it returned, which the record keeps, encoded once. Errors thrown
    /// by `work` finish the operation as failed and are rethrown, so the route answers with them.
    public func perform<Result: Encodable>(
        kind: String, target: String, operationId: String? = nil, requestId: String? = nil,
        _ work: (OperationContext) throws -> Result
    ) throws -> Result {
        var result: Result?
        _ = try execute(kind: kind, target: target, operationId: operationId, requestId: requestId) { context in
            let done = try work(context)
            result = done
            return try JSONEncoding.bytes(done)
        }
        return result!
    }

    /// Runs `work` as an operation and returns its final record, with `work`'s value as its result.
    @discardableResult
    public func run(
        kind: String, target: String, operationId: String? = nil, requestId: String? = nil,
        _ work: (OperationContext) throws -> JSONValue?
    ) throws -> OperationRecord {
        let id = try execute(kind: kind, target: target, operationId: operationId, requestId: requestId) { context in
            try work(context).map(JSONWriter.compactBytes)
        }
        return try store.get(id) ?? OperationRecord(id: id, kind: kind, target: target, requestId: requestId)
    }

    /// Registers the operation, runs `work`, records its end and its encoded result; answers the operation's id.
    private func execute(
        kind: String, target: String, operationId: String?, requestId: String?,
        _ work: (OperationContext) throws -> [UInt8]?
    ) throws -> String {
        let id: String
        if let given = operationId {
            guard let uuid = UUID(uuidString: given) else { throw OperationError.invalidId(given) }
            id = uuid.uuidString.lowercased()
        } else {
            id = UUID().uuidString.lowercased()
        }
        let admitted = running.withLock { count -> Bool in
            guard count < maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else {
            metrics.count(kind: kind, outcome: .refused)
            throw OperationError.tooMany(limit: maxConcurrent)
        }
        // The slot is free before the record says finished, so a client that saw it finish can start the next.
        let released = Atomic<Bool>(false)
        let release = { if !released.exchange(true, ordering: .relaxed) { self.running.withLock { $0 -= 1 } } }
        defer { release() }

        switch try store.begin(OperationRecord(id: id, kind: kind, target: target, requestId: requestId), owner: owner) {
        case .duplicateId:
            metrics.count(kind: kind, outcome: .refused)
            throw OperationError.duplicateId(id)
        case .busy(let other):
            metrics.count(kind: kind, outcome: .refused)
            throw OperationError.busy(target: target, operationId: other)
        case .started: break
        }
        metrics.started(kind: kind)
        let began = ContinuousClock.now
        let context = OperationContext(id: id, target: target, deadline: .now + deadline, store: store, scrub: scrub)
        do {
            let result = try observing(kind: kind, context, work)
            release()
            try store.finish(id: id, state: .succeeded, phase: "done", error: nil, result: result, logTail: context.logTail)
            metrics.finished(kind: kind, outcome: .succeeded, duration: began.duration(to: .now))
        } catch {
            release()
            let message = scrub(String(describing: error))
            context.log("failed: \(message)")
            let result = (error as? any ResultCarryingError)?.operationResult
            try? store.finish(id: id, state: .failed, phase: "failed", error: message, result: result, logTail: context.logTail)
            metrics.finished(kind: kind, outcome: .failed, duration: began.duration(to: .now))
            throw error
        }
        return id
    }

    /// Throws `busy` while an operation works on `target`. For a request that judges the target's state before it
    /// starts an operation of its own: while another one is changing that state, its answer would be wrong (an
    /// uninstall would call a package whose first install is still downloading "not installed").
    public func ensureIdle(_ target: String) throws {
        if let running = try store.list(target: target, state: .running, limit: 1).first {
            throw OperationError.busy(target: target, operationId: running.id)
        }
    }

    /// At start: every operation whose process died is settled — its kind's recovery puts things back
    /// and says whether the commit point was reached; without one it is marked failed.
    @discardableResult
    /// `endGroups` ends what is left of the process groups an operation recorded (as the user they run as) and
    /// answers whether none runs, before its recovery touches anything they might still be writing; when some
    /// would not end, the operation is left running (its files alone, its target busy) for the next start.
    public func recoverInterrupted(
        using recoveries: [String: any OperationRecovery] = [:], endGroups: ([ProcessGroup]) -> Bool = { $0.allSatisfy { $0.end() } }
    ) throws -> [OperationRecord] {
        let me = owner
        let orphans = try store.orphans { $0.isAlive(as: me) }
        for record in orphans {
            let groups = ProcessGroup.recorded(in: record.checkpoint)
            guard groups.isEmpty || endGroups(groups) else {
                // Left as it is, still holding its target: the next start tries again, once they have ended.
                logger.error(
                    "an interrupted operation's programs would not end; its files are left alone until plugind starts again",
                    metadata: ["id": "\(record.id)", "processGroups": "\(groups.map(\.pgid))"])
                continue
            }
            let outcome = recoveries[record.kind]?.recoverWithResult(record) ?? Recovered(committed: false, note: nil)
            let committed = outcome.committed
            let note = outcome.note ?? (committed
                ? "plugind stopped after the change was committed; it is complete."
                : "plugind stopped before the change was committed; the previous state was restored.")
            try store.finish(
                id: record.id, state: committed ? .succeeded : .failed, phase: committed ? "done" : "failed",
                error: committed ? nil : "Interrupted: \(note)", result: committed ? Self.recoveredResult(outcome.result, note: note) : nil,
                logTail: record.logTail + [note])
            logger.warning("recovered an interrupted operation", metadata: ["id": "\(record.id)", "kind": "\(record.kind)", "committed": "\(committed)"])
        }
        return orphans
    }

    /// A committed recovered operation's result is never null: what its recovery reconstructed (or `{ok: true}`),
    /// with the note on what happened last in its `warnings`.
    static func recoveredResult(_ result: JSONValue?, note: String) -> [UInt8] {
        var object = result?.objectValue ?? ["ok": .bool(true)]
        object["warnings"] = .array((object["warnings"]?.arrayValue ?? []) + [.string(note)])
        return JSONWriter.compactBytes(.object(object))
    }
}

extension OperationContext {
    /// Records a typed checkpoint (its members in declared order), read back with `OperationRecord.checkpoint(as:)`.
    public func checkpoint(_ value: some Encodable) {
        checkpoint((try? JSONEncoding.value(value)) ?? .null)
    }
}

extension OperationRecord {
    /// The checkpoint as the type its operation wrote; nil when there is none or it is of another shape. Members
    /// the type does not know (the process groups the runner adds) are ignored.
    public func checkpoint<Checkpoint: Decodable>(as type: Checkpoint.Type) -> Checkpoint? {
        guard let checkpoint else { return nil }
        return try? JSONDecoder().decode(Checkpoint.self, from: Data(JSONWriter.compactBytes(checkpoint)))
    }
}
