import Dispatch
import HTTPKit
import Locking

/// The last encoded bodies per stamp, each with its ETag, built once per stamp (`StampedCache`).
///
/// A body above `maxKeptBody` (a 10,000-entry registry's full list, 9 MB) is not kept for one request: only its ETag
/// is, and the next request builds it again. Asked for again, it is kept while it stays in demand and dropped once
/// `keepWhileAskedFor` passes without a request for it: an idle plugind holds no second copy of what the body is
/// built from, and a client or a dashboard fetching it over and over does not pay for building (and allocating) it
/// each time.
final class ResponseCache: Sendable {
    typealias Entry = (body: [UInt8], etag: String)

    private let cache: StampedCache<Body>
    private let maxKeptBody: Int
    private let keepWhileAskedFor: Duration
    /// The one big body kept while in demand, with when it was last asked for.
    private let inDemand = Locked<InDemand?>(nil)

    /// A nominal box: a tuple in a generic container is re-wrapped on every access.
    struct Body: Sendable {
        /// Nil for a body above `maxKeptBody`: only its ETag is kept here.
        let bytes: [UInt8]?
        let etag: String
    }

    private struct InDemand {
        let stamp: String
        let bytes: [UInt8]
        var lastAsked: ContinuousClock.Instant
    }

    /// `maxKeptBody`: bodies longer than this are kept only while they are asked for again within `keepWhileAskedFor`.
    init(limit: Int = 16, maxKeptBody: Int = .max, keepWhileAskedFor: Duration = .seconds(30)) {
        cache = StampedCache(limit: limit)
        self.maxKeptBody = maxKeptBody
        self.keepWhileAskedFor = keepWhileAskedFor
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp (a big body again while not kept).
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> Entry {
        var made: [UInt8]?
        let body = try cache.value(for: stamp) {
            let bytes = try make()
            made = bytes
            return self.kept(bytes)
        }
        if let bytes = made ?? body.bytes { return (bytes, body.etag) }
        let now = ContinuousClock.now
        let kept = inDemand.withLock { kept -> [UInt8]? in
            guard kept?.stamp == stamp else { return nil }
            kept?.lastAsked = now
            return kept?.bytes
        }
        if let kept { return (kept, body.etag) }
        // Asked for a second time: keep it (replacing another stamp's), and look again once the time is up.
        let bytes = try make()
        let first = inDemand.withLock { kept -> Bool in
            let first = kept == nil
            kept = InDemand(stamp: stamp, bytes: bytes, lastAsked: now)
            return first
        }
        if first { dropWhenIdle(after: keepWhileAskedFor) }
        return (bytes, body.etag)
    }

    /// What is kept of `bytes`: the bytes (unless above `maxKeptBody`) and their ETag. A writer makes it ahead of its
    /// stamp, so the ETag is computed before anyone could ask for that stamp.
    func kept(_ bytes: [UInt8]) -> Body {
        Body(bytes: bytes.count <= maxKeptBody ? bytes : nil, etag: HTTPResponse.etag(of: bytes))
    }

    /// Keeps a body made ahead (`kept(_:)`) as the one for `stamp`.
    func insert(_ body: Body, for stamp: String) {
        cache.insert(body, for: stamp)
    }

    /// Drops the kept big body once `keepWhileAskedFor` has passed since it was last asked for.
    private func dropWhenIdle(after delay: Duration) {
        let (seconds, attoseconds) = delay.components
        let deadline = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: deadline) { [self] in
            let now = ContinuousClock.now
            let left = inDemand.withLock { kept -> Duration? in
                guard let asked = kept?.lastAsked else { return nil }
                let idle = asked.duration(to: now)
                if idle >= keepWhileAskedFor {
                    kept = nil
                    return nil
                }
                return keepWhileAskedFor - idle
            }
            if let left { dropWhenIdle(after: left) }
        }
    }

    /// Whether a big body is kept now (tests).
    var keepsBigBody: Bool { inDemand.withLock { $0 != nil } }
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
