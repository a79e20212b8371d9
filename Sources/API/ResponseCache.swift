import HTTPKit
import Locking

/// The last encoded bodies per stamp, each with its ETag, built once per stamp (`StampedCache`).
final class ResponseCache: Sendable {
    typealias Entry = (body: [UInt8], etag: String)

    private let cache: StampedCache<Body>
    private let maxKeptBody: Int

    /// A nominal box: a tuple in a generic container is re-wrapped on every access.
    private struct Body: Sendable {
        /// Nil for a body above `maxKeptBody`: only its ETag is kept, and each request builds the body again.
        let bytes: [UInt8]?
        let etag: String
    }

    /// `maxKeptBody`: bodies longer than this are built for each request and only their ETag is kept (an answer
    /// that large would be a second copy of what it is built from, and building it is mostly copying bytes).
    init(limit: Int = 16, maxKeptBody: Int = .max) {
        cache = StampedCache(limit: limit)
        self.maxKeptBody = maxKeptBody
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp (the body for each request when it is
    /// not kept).
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> Entry {
        var made: [UInt8]?
        let body = try cache.value(for: stamp) {
            let bytes = try make()
            made = bytes
            return Body(bytes: bytes.count <= maxKeptBody ? bytes : nil, etag: HTTPResponse.etag(of: bytes))
        }
        if let bytes = made ?? body.bytes { return (bytes, body.etag) }
        return (try make(), body.etag)
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
