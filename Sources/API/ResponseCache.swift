import HTTPKit
import Locking

/// Keeps the last encoded body per stamp: a stamp names everything the body depends on,
/// so a hit is always current.
final class ResponseCache: Sendable {
    private let entries = Locked<[String: (body: [UInt8], etag: String)]>([:])
    private let limit: Int

    init(limit: Int = 16) {
        self.limit = limit
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp.
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> (body: [UInt8], etag: String) {
        if let hit = entries.withLock({ $0[stamp] }) { return hit }
        let made = try make()
        let entry = (body: made, etag: HTTPResponse.etag(of: made))
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll() }
            entries[stamp] = entry
        }
        return entry
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
