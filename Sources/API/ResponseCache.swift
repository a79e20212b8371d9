import Locking

/// Keeps the last encoded body per stamp: a stamp names everything the body depends on,
/// so a hit is always current.
final class ResponseCache: Sendable {
    private let entries = Locked<[String: [UInt8]]>([:])
    private let limit: Int

    init(limit: Int = 16) {
        self.limit = limit
    }

    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> [UInt8] {
        if let hit = entries.withLock({ $0[stamp] }) { return hit }
        let made = try make()
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll() }
            entries[stamp] = made
        }
        return made
    }
}

/// One value, recomputed when older than `freshFor`.
final class TimedCache<Value: Sendable>: Sendable {
    private let entry = Locked<(at: ContinuousClock.Instant, value: Value)?>(nil)
    private let freshFor: Duration

    init(freshFor: Duration) {
        self.freshFor = freshFor
    }

    func body(make: () -> Value) -> Value {
        let now = ContinuousClock.now
        if let hit = entry.withLock({ e -> Value? in
            guard let e, e.at.duration(to: now) < freshFor else { return nil }
            return e.value
        }) { return hit }
        let value = make()
        entry.withLock { $0 = (now, value) }
        return value
    }
}
