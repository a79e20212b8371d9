import Dispatch
import HTTPKit
import Locking

/// Keeps the last encoded body per stamp: a stamp names everything the body depends on,
/// so a hit is always current. One builder per stamp: requests that miss while the body is being
/// built wait for it instead of building the same answer again (under writes, every worker used to).
final class ResponseCache: Sendable {
    typealias Entry = (body: [UInt8], etag: String)

    private struct State {
        var entries: [String: Entry] = [:]
        /// Stamps whose body some request is building now; the others wait on its group.
        var building: [String: DispatchGroup] = [:]
    }

    private enum Turn {
        case hit(Entry)
        case wait(DispatchGroup)
        case build(DispatchGroup)
    }

    private let state = Locked(State())
    private let limit: Int

    init(limit: Int = 16) {
        self.limit = limit
    }

    /// The encoded body for `stamp` and its ETag, both computed once per stamp. If building fails, the
    /// builder gets the error and one of the waiting requests builds next.
    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> Entry {
        while true {
            let turn = state.withLock { state -> Turn in
                if let hit = state.entries[stamp] { return .hit(hit) }
                if let group = state.building[stamp] { return .wait(group) }
                let group = DispatchGroup()
                group.enter()
                state.building[stamp] = group
                return .build(group)
            }
            switch turn {
            case .hit(let entry):
                return entry
            case .wait(let group):
                group.wait()
            case .build(let group):
                var entry: Entry?
                defer {
                    state.withLock { state in
                        state.building[stamp] = nil
                        if let entry {
                            if state.entries.count >= limit { state.entries.removeAll() }
                            state.entries[stamp] = entry
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
