import CoreMetrics
import Foundation
import JSON
import Locking
import Logging
import Plugins
import Stores
import Synchronization

/// Sends the pending restart reasons to the runtime after a short quiet period, so several changes
/// in a row cost one restart, and clears them once the runtime reports it is running again.
public final class RestartScheduler: Sendable {
    let reasons: RestartReasonStore
    let runtime: BridgeRuntime
    let debounce: Duration
    let automatic: Bool
    let logger: Logger

    private struct State {
        var lastSeen: [String] = []
        var changedAt = ContinuousClock.now
        /// When the last restart was sent (ISO, comparable with the reasons' addedAt), until the runtime is back.
        var sentAt: String?
        var sentClock: ContinuousClock.Instant?
        var lastRestartAt: String?
    }
    private let state = Locked(State())
    private let stopping = Atomic<Bool>(false)
    /// Restarts asked of the runtime, `plugind_runtime_restarts_total{outcome}`: `sent` (the bridge took it) or `failed`.
    private let restartsSent: Counter
    private let restartsFailed: Counter

    public init(
        reasons: RestartReasonStore, runtime: BridgeRuntime, debounce: Duration, automatic: Bool, logger: Logger,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        restartsSent = Counter(label: "plugind_runtime_restarts_total", dimensions: [("outcome", "sent")], factory: metrics)
        restartsFailed = Counter(label: "plugind_runtime_restarts_total", dimensions: [("outcome", "failed")], factory: metrics)
        self.reasons = reasons
        self.runtime = runtime
        self.debounce = debounce
        self.automatic = automatic
        self.logger = logger
    }

    public var lastRestartAt: String? { state.withLock { $0.lastRestartAt } }

    /// Starts the background loop (its own thread; it only sleeps, reads the database and calls the bridge).
    public func start() {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                tick()
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        thread.name = "restart-scheduler"
        thread.start()
    }

    public func stop() { stopping.store(true, ordering: .relaxed) }

    func tick() {
        guard let pending = try? reasons.entries() else { return }
        // A reason added again moves its time, so every change restarts the quiet period.
        let fingerprint = pending.map { $0.reason + "\u{0}" + $0.addedAt }
        let now = ContinuousClock.now
        let due: [String]? = state.withLock { s in
            if fingerprint != s.lastSeen {
                s.lastSeen = fingerprint
                s.changedAt = now
            }
            if s.sentAt != nil { return nil }  // waiting for the runtime to come back from the last restart
            guard automatic, !pending.isEmpty, s.changedAt.duration(to: now) >= debounce else { return nil }
            return pending.map(\.reason)
        }
        if let due { send(due) }
        settle(now: now)
    }

    /// After a restart: once the runtime runs again, the reasons sent with it are done — except
    /// those added again after the restart was sent, which need another one.
    private func settle(now: ContinuousClock.Instant) {
        let waiting = state.withLock { ($0.sentAt, $0.sentClock) }
        guard let sentAt = waiting.0, let sentClock = waiting.1, sentClock.duration(to: now) > .milliseconds(300) else { return }
        runtime.invalidate()
        guard let snapshot = runtime.snapshot() else {
            // Down for long: give up waiting so a later change can try again.
            if sentClock.duration(to: now) > .seconds(60) { state.withLock { $0.sentAt = nil; $0.sentClock = nil } }
            return
        }
        guard snapshot.state == "running" || snapshot.state == "failed" else { return }
        state.withLock { $0.sentAt = nil; $0.sentClock = nil }
        for entry in (try? reasons.entries()) ?? [] { try? reasons.remove(entry.reason, addedNoLaterThan: sentAt) }
    }

    /// Restarts now with whatever is pending (an operator asked).
    public func restartNow() throws(RuntimeError) {
        let pending = (try? reasons.all()) ?? []
        try performRestart(pending.isEmpty ? ["requested by an operator"] : pending)
    }

    private func send(_ pending: [String]) {
        do {
            try performRestart(pending)
        } catch {
            logger.warning("restarting the agent failed; will retry on the next change", metadata: ["error": "\(error)"])
            state.withLock { $0.changedAt = .now }
        }
    }

    private func performRestart(_ pending: [String]) throws(RuntimeError) {
        let sentAt = ISOTime.string()
        do {
            try runtime.client.restart(reasons: pending)
        } catch {
            restartsFailed.increment()
            throw error
        }
        restartsSent.increment()
        runtime.invalidate()
        logger.info("asked the agent to restart", metadata: ["reasons": "\(pending.count)"])
        state.withLock { s in
            s.sentAt = sentAt
            s.sentClock = .now
            s.lastRestartAt = sentAt
        }
    }
}
