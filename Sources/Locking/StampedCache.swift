import Dispatch

/// Keeps the last values built per stamp: a stamp names everything a value depends on, so a hit is always current.
/// One builder per stamp: requests that miss while the value is being built wait for it instead of building the
/// same value again (under writes, every worker used to, each one slowing the others).
public final class StampedCache<Value: Sendable>: Sendable {
    private struct State {
        var values: [Key: Value] = [:]
        /// Stamps whose value some caller is building now; the others wait on its group.
        var building: [Key: DispatchGroup] = [:]
    }

    /// A stamp with its hash taken before the lock. A stamp names the files and states an answer depends on (a
    /// few hundred bytes); hashed inside the lock, on every request, it lengthened the time the lock is held, and
    /// a worker preempted there holds up every other one asking for the same answer. Equal keys still compare
    /// the whole stamps.
    private struct Key: Hashable {
        let stamp: String
        let hash: Int

        init(_ stamp: String) {
            self.stamp = stamp
            self.hash = stamp.hashValue
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.stamp == b.stamp }
    }

    private enum Turn {
        case hit(Value)
        case wait(DispatchGroup)
        case build(DispatchGroup)
    }

    private let state = ReadMostly(State())
    private let limit: Int

    /// `limit` values at most; when full, the next value replaces them all (stamps move on and never return).
    public init(limit: Int = 16) {
        self.limit = limit
    }

    /// Keeps `value` as the one for `stamp`, built by a writer before anyone could ask for that stamp (a request
    /// building it meanwhile keeps its own).
    public func insert(_ value: Value, for stamp: String) {
        let stamp = Key(stamp)
        state.write { state in
            guard state.values[stamp] == nil else { return }
            keep(value, for: stamp, in: &state)
        }
    }

    /// The value kept for `stamp`, if one is; nothing is built.
    public func kept(for stamp: String) -> Value? {
        let stamp = Key(stamp)
        return state.read { $0.values[stamp] }
    }

    /// One of the values kept now, whichever: for a build that can reuse what is unchanged in an older value.
    public func anyValue() -> Value? {
        state.read { $0.values.values.first }
    }

    /// Adds a value; when `limit` are kept, the others go first.
    private func keep(_ value: Value, for stamp: Key, in state: inout State) {
        if state.values.count >= limit { state.values.removeAll() }
        state.values[stamp] = value
    }

    /// The value for `stamp`, built once. If building fails, the builder gets the error and one of the waiting
    /// callers builds next.
    public func value(for stamp: String, make: () throws -> Value) rethrows -> Value {
        let stamp = Key(stamp)
        while true {
            // Hits, nearly every call, only read.
            if let hit = state.read({ $0.values[stamp] }) { return hit }
            let turn = state.write { state -> Turn in
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
                    state.write { state in
                        state.building[stamp] = nil
                        if let made { keep(made, for: stamp, in: &state) }
                    }
                    group.leave()
                }
                made = try make()
                return made!
            }
        }
    }
}
