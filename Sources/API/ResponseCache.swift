import Glibc
import HTTPKit
import Locking

/// Keeps the last encoded body per stamp: a stamp names everything the body depends on,
/// so a hit is always current. One builder per stamp: requests that miss while the body is being
/// built wait for it instead of building the same answer again (under writes, every worker used to).
final class ResponseCache: @unchecked Sendable {
    typealias Entry = (body: [UInt8], etag: String)

    private var entries: [String: Entry] = [:]
    /// Stamps whose body some request is building now.
    private var building: Set<String> = []
    private let limit: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let built = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(limit: Int = 16) {
        self.limit = limit
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(built, nil)
    }

    deinit {
        pthread_cond_destroy(built)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        built.deallocate()
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp. If building fails, the
    /// builder gets the error and one of the waiting requests builds next.
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> Entry {
        pthread_mutex_lock(mutex)
        while true {
            if let hit = entries[stamp] {
                pthread_mutex_unlock(mutex)
                return hit
            }
            if !building.contains(stamp) { break }
            pthread_cond_wait(built, mutex)
        }
        building.insert(stamp)
        pthread_mutex_unlock(mutex)

        var entry: Entry?
        defer {
            pthread_mutex_lock(mutex)
            building.remove(stamp)
            if let entry {
                if entries.count >= limit { entries.removeAll() }
                entries[stamp] = entry
            }
            pthread_cond_broadcast(built)
            pthread_mutex_unlock(mutex)
        }
        let made = try make()
        entry = (body: made, etag: HTTPResponse.etag(of: made))
        return entry!
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
