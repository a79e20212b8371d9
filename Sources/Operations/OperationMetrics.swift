import CoreMetrics
import Metrics
import Locking

/// What the operation runner counts: `plugind_operations_total{kind,outcome}` (outcome `succeeded`, `failed`, or
/// `refused` when it never started: the target busy, too many at once, an id already used), the duration of those
/// that ran, `plugind_operation_duration_seconds{kind,outcome}`, and `plugind_operations_running{kind}`.
/// The kinds are the runner's callers' fixed names (install, uninstall, eject, …), so the series stay few.
public final class OperationMetrics: Sendable {
    public static let total = "plugind_operations_total"
    public static let duration = "plugind_operation_duration_seconds"
    public static let running = "plugind_operations_running"

    public enum Outcome: String, Sendable {
        case succeeded, failed, refused
    }

    private struct Series {
        var counters: [String: Counter] = [:]
        var timers: [String: Timer] = [:]
        var running: [String: Meter] = [:]
    }

    private let factory: any MetricsFactory
    private let series = Locked(Series())

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// An operation of `kind` started.
    func started(kind: String) {
        runningMeter(kind).increment()
    }

    /// An operation that started ended, after `duration`.
    func finished(kind: String, outcome: Outcome, duration: Duration) {
        runningMeter(kind).decrement()
        count(kind: kind, outcome: outcome)
        let timer = series.withLock { series in
            let key = kind + "\u{0}" + outcome.rawValue
            if let made = series.timers[key] { return made }
            let made = Timer(label: Self.duration, dimensions: [("kind", kind), ("outcome", outcome.rawValue)], factory: factory)
            series.timers[key] = made
            return made
        }
        timer.record(duration: duration)
    }

    /// An operation of `kind` that was refused, or one that started and ended as `outcome`.
    func count(kind: String, outcome: Outcome) {
        series.withLock { series in
            let key = kind + "\u{0}" + outcome.rawValue
            if let made = series.counters[key] { return made }
            let made = Counter(label: Self.total, dimensions: [("kind", kind), ("outcome", outcome.rawValue)], factory: factory)
            series.counters[key] = made
            return made
        }.increment()
    }

    private func runningMeter(_ kind: String) -> Meter {
        series.withLock { series in
            if let made = series.running[kind] { return made }
            let made = Meter(label: Self.running, dimensions: [("kind", kind)], factory: factory)
            series.running[kind] = made
            return made
        }
    }
}
