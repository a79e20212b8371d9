import Adapters
import Foundation

/// A wall clock that stands still: a service built on it sees exactly the time the test names, so what expires
/// by time (caches, retries, leases) is tested by choosing clocks, not by sleeping.
public struct FixedClock: WallClock {
    public let now: Date

    public init(_ now: Date) {
        self.now = now
    }
}
