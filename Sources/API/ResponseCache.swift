import HTTPKit
import Locking

/// The last encoded bodies per stamp, each with its ETag, built once per stamp (`StampedCache`).
final class ResponseCache: Sendable {
    typealias Entry = (body: [UInt8], etag: String)

    private let cache: StampedCache<Body>

    /// A nominal box: a tuple in a generic container is re-wrapped on every access.
    private struct Body: Sendable {
        let bytes: [UInt8]
        let etag: String
    }

    init(limit: Int = 16) {
        cache = StampedCache(limit: limit)
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp.
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> Entry {
        let body = try cache.value(for: stamp) {
            let bytes = try make()
            return Body(bytes: bytes, etag: HTTPResponse.etag(of: bytes))
        }
        return (body.bytes, body.etag)
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
