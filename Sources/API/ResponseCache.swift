import Dispatch
import HTTPKit
import Locking

/// Keeps the last encoded body per stamp: a stamp names everything the body depends on,
/// so a hit is always current. One builder per stamp: requests that miss while the body is being
/// built wait for it instead of building the same answer again (under writes, every worker used to).
final class ResponseCache: Sendable {
    typealias Entry = (body: [UInt8], etag: String)

    private struct State {
        /// A body above `maxKeptBody` is not kept: only its ETag, and a hit builds the body again.
        var entries: [String: (body: [UInt8]?, etag: String)] = [:]
        /// Stamps whose body some request is building now; the others wait on its group.
        var building: [String: DispatchGroup] = [:]
    }

    private enum Turn {
        case hit(body: [UInt8]?, etag: String)
        case wait(DispatchGroup)
        case build(DispatchGroup)
    }

    private let state = Locked(State())
    private let limit: Int
    private let maxKeptBody: Int

    /// `maxKeptBody`: bodies longer than this are built for each request and only their ETag is kept (an answer
    /// that large would be a second copy of what it is built from, and building it is mostly copying bytes).
    init(limit: Int = 16, maxKeptBody: Int = .max) {
        self.limit = limit
        self.maxKeptBody = maxKeptBody
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp. If building fails, the
    /// builder gets the error and one of the waiting requests builds next.
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> Entry {
        while true {
            let turn = state.withLock { state -> Turn in
                if let hit = state.entries[stamp] { return .hit(body: hit.body, etag: hit.etag) }
                if let group = state.building[stamp] { return .wait(group) }
                let group = DispatchGroup()
                group.enter()
                state.building[stamp] = group
                return .build(group)
            }
            switch turn {
            case .hit(let body?, let etag):
                return (body, etag)
            case .hit(nil, let etag):
                return (try make(), etag)
            case .wait(let group):
                group.wait()
            case .build(let group):
                var entry: Entry?
                defer {
                    state.withLock { state in
                        state.building[stamp] = nil
                        if let entry {
                            if state.entries.count >= limit { state.entries.removeAll() }
                            state.entries[stamp] = (entry.body.count <= maxKeptBody ? entry.body : nil, entry.etag)
                        }
                    }
                    group.leave()
                }
                let made = try make()
                entry = (body: made, etag: HTTPResponse.etag(of: made))
                return entry!
            }
        }
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
