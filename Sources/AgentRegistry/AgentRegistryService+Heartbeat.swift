import Dispatch
import Foundation
import Stores

/// The background loop: registers by itself when `autoRegister` is on, then sends a heartbeat every
/// `syncIntervalMs`, backs off while the registry fails, and registers again when the registry forgets the
/// agent. Only the holder of the database lease does any of this, so one process reports per state directory.
extension AgentRegistryService {
    /// Starts the loop on its own thread. It idles (re-reading the database once an interval) while the
    /// agent is neither registered nor allowed to register by itself, so it can always be started.
    public func start() {
        let finished = DispatchSemaphore(value: 0)
        let begin = loop.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            state.stopping = false
            state.finished = finished
            return true
        }
        guard begin else { return }
        let thread = Thread { [self] in
            while !loop.withLock({ $0.stopping }) {
                let delay = tick()
                if loop.withLock({ $0.stopping }) { break }
                _ = wake.wait(timeout: .now() + .milliseconds(max(delay, 1)))
            }
            finished.signal()
        }
        thread.name = "agent-registry"
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// Stops the loop, waits for an exchange in flight (bounded by the HTTP timeouts) and gives the lease up,
    /// so another plugind process on the state directory takes over the heartbeats at once.
    public func stop() {
        let finished = loop.withLock { state -> DispatchSemaphore? in
            guard state.running, !state.stopping else { return nil }
            state.stopping = true
            return state.finished
        }
        guard let finished else { return }
        wake.signal()
        finished.wait()
        loop.withLock { state in
            state.running = false
            state.finished = nil
            state.holdsLease = false
        }
        do {
            try lease.releaseLease(owner)
        } catch {
            logger.error("agent registry: cannot release the heartbeat lease: \(error)")
        }
    }

    /// The stored registration, read fresh; nil (and an error logged) when the database cannot answer.
    private func storedRecord() -> AgentRegistrationStore.Record? {
        do {
            return try store.load()
        } catch {
            logger.error("agent registry: cannot read the registration: \(error)")
            return nil
        }
    }

    /// One round of the loop; returns how many milliseconds to sleep before the next.
    func tick() -> Int {
        let interval = configuration.syncIntervalMs
        guard let record = storedRecord() else { return interval }
        if record.credentials(for: configuration.registryURL) == nil {
            guard configuration.autoRegister else {
                releaseLeaseIfHeld()
                return interval
            }
            guard effectiveURI(record) != nil else {
                let warned = loop.withLock { state in
                    defer { state.warnedNoURI = true }
                    return state.warnedNoURI
                }
                if !warned {
                    logger.warning("agent registry: autoRegister is on but no public URI is known; set publicUri or use update-uri")
                }
                releaseLeaseIfHeld()
                return interval
            }
        }
        guard takeLease() else { return interval }
        return exchange.withLock { _ in attempt() }
    }

    /// With the lease and `exchange` held: heartbeat when due, or register.
    private func attempt() -> Int {
        let interval = configuration.syncIntervalMs
        guard let record = storedRecord() else { return interval }
        if let credentials = record.credentials(for: configuration.registryURL) {
            // Any process's (or a request's) last sync counts, so a takeover or a manual sync does not double up.
            if loop.withLock({ $0.failures }) == 0, let last = record.lastSyncAt ?? record.registeredAt {
                let wait = last.addingTimeInterval(intervalSeconds).timeIntervalSince(clock.now)
                if wait > 0 { return max(1, Int((wait * 1000).rounded(.up))) }
            }
            return heartbeat(credentials, record)
        }
        guard configuration.autoRegister, let uri = effectiveURI(record) else { return interval }
        do {
            try registerNow(uri: uri, storeURI: false, reason: "autoRegister")
            return interval
        } catch {
            return backOff(retryAfterMs: takeRetryAfter())
        }
    }

    private func heartbeat(_ credentials: AgentRegistryClient.Credentials, _ record: AgentRegistrationStore.Record) -> Int {
        let interval = configuration.syncIntervalMs
        switch sendHeartbeat(heartbeatBody(record), as: credentials) {
        case .accepted:
            let time = clock.now
            let failures = loop.withLock { state in
                defer { state.failures = 0 }
                return state.failures
            }
            do {
                try store.recordSync(at: time, nextSyncAt: time.addingTimeInterval(intervalSeconds))
            } catch {
                logger.error("agent registry: cannot record the heartbeat: \(error)")
            }
            if failures > 0 { logger.info("agent registry: heartbeats accepted again after \(failures) failed attempts") }
            return interval
        case .unknownAgent(let refusal):
            logger.notice("agent registry: the registry no longer knows agent \(credentials.agentId) (\(refusal)); registering again")
            guard let uri = effectiveURI(record) else {
                try? recordFailure(.noURI, what: "registering again")
                return backOff(retryAfterMs: nil)
            }
            do {
                try registerNow(uri: uri, storeURI: false, reason: "the registry forgot the agent")
                return interval
            } catch {
                return backOff(retryAfterMs: takeRetryAfter())
            }
        case .failed(let error, let retryAfterMs):
            try? recordFailure(error, what: "heartbeat")
            return backOff(retryAfterMs: retryAfterMs)
        }
    }

    /// Counts a failed attempt and plans the next one (jittered, exponential, capped).
    private func backOff(retryAfterMs: Int?) -> Int {
        let failures = loop.withLock { state in
            state.failures += 1
            return state.failures
        }
        let delay = retry.delayMs(afterFailures: failures, retryAfterMs: retryAfterMs)
        do {
            try store.saveNextSync(clock.now.addingTimeInterval(Double(delay) / 1000))
        } catch {
            logger.error("agent registry: cannot record the next attempt: \(error)")
        }
        logger.notice("agent registry: attempt \(failures) failed; next one in \(delay) ms")
        return delay
    }

    private func takeRetryAfter() -> Int? {
        loop.withLock { state in
            defer { state.retryAfterMs = nil }
            return state.retryAfterMs
        }
    }

    private func takeLease() -> Bool {
        let acquired: Bool
        do {
            acquired = try lease.acquireLease(owner, now: clock.now, duration: Double(configuration.leaseDurationMs) / 1000)
        } catch {
            logger.error("agent registry: cannot take the heartbeat lease: \(error)")
            acquired = false
        }
        let held = loop.withLock { state in
            defer { state.holdsLease = acquired }
            return state.holdsLease
        }
        if acquired && !held { logger.info("agent registry: this process sends the heartbeats") }
        if !acquired && held { logger.notice("agent registry: another plugind process sends the heartbeats now") }
        return acquired
    }

    private func releaseLeaseIfHeld() {
        let held = loop.withLock { state in
            defer { state.holdsLease = false }
            return state.holdsLease
        }
        if held { try? lease.releaseLease(owner) }
    }
}
