import Dispatch

/// Keeps the last values built per stamp: a stamp names everything a value depends on, so a hit is always current.
/// One builder per stamp: requests that miss while the value is being built wait for it instead of building the
/// same value again (under writes, every worker used to, each one slowing the others).
public final class StampedCache<Value: Sendable>: Sendable {
    private struct State {
        var values: [String: Value] = [:]
        /// Stamps whose value some caller is building now; the others wait on its group.
        var building: [String: DispatchGroup] = [:]
    }

    private enum Turn {
        case hit(Value)
        case wait(DispatchGroup)
        case build(DispatchGroup)
    }

    private let state = Locked(State())
    private let limit: Int

    /// `limit` values at most; when full, the next value replaces them all (stamps move on and never return).
    public init(limit: Int = 16) {
        self.limit = limit
    }

    /// The value for `stamp`, built once. If building fails, the builder gets the error and one of the waiting
    /// callers builds next.
    public func value(for stamp: String, make: () throws -> Value) rethrows -> Value {
        while true {
            let turn = state.withLock { state -> Turn in
                if let hit = state.values[stamp] { return .hit(hit) }
                if let group = state.building[stamp] { return .wait(group) }
                let group = DispatchGroup()
                group.enter()
                state.building[stamp] = group
                return .build(group)
            }
            switch turn {
            case .hit(let value):
                return value
            case .wait(let group):
                group.wait()
            case .build(let group):
                var made: Value?
                defer {
                    state.withLock { state in
                        state.building[stamp] = nil
                        if let made {
                            if state.values.count >= limit { state.values.removeAll() }
                            state.values[stamp] = made
                        }
                    }
                    group.leave()
                }
                made = try make()
                return made!
            }
        }
    }
}
