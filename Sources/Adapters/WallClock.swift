import Foundation

/// The time of day, for what plugind stamps and what expires by it (the registry cache's TTL and retry interval,
/// the agent registry's sync times and leases, install and eject records). Services take one through their
/// dependencies, so a test can hold time still or move it. Durations and deadlines are `ContinuousClock`'s, not this.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}
