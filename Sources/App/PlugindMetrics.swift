import CoreMetrics
import Locking
import Prometheus

/// One plugind's metrics: the factory every service counts through, and `GET /api/metrics`' text.
///
/// Each instance has a registry of its own (never swift-metrics' process-wide bootstrap), so two plugind wirings in
/// one process (the in-process tests) never see each other's numbers. With metrics off the factory is swift-metrics'
/// no-op one and there is no text to serve.
///
/// Counters and histograms are changed where things happen; gauges that are cheap to read (the registry snapshot's
/// age, the runtime's state, the process' memory) are read by collectors just before each exposition instead of
/// being kept current all the time.
public final class PlugindMetrics: Sendable {
    /// What every service counts through.
    public let factory: any MetricsFactory
    private let registry: PrometheusCollectorRegistry?
    private let collectors = Locked<[@Sendable () -> Void]>([])

    /// Buckets for request latencies, from half a millisecond (a cached answer) to ten seconds.
    static let requestBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    /// Buckets for operations: an uninstall takes under a second, an eject with a build minutes, the deadline 840 s.
    static let operationBuckets: [Duration] = [
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(900),
    ]

    /// `enabled` false: nothing is counted and `exposition()` answers nil.
    public init(enabled: Bool) {
        guard enabled else {
            registry = nil
            factory = NOOPMetricsHandler.instance
            return
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.requestBuckets
        factory.durationHistogramBuckets = ["plugind_operation_duration_seconds": Self.operationBuckets]
        self.registry = registry
        self.factory = factory
    }

    public var enabled: Bool { registry != nil }

    /// `collect` runs before every exposition, to set the gauges it owns.
    public func addCollector(_ collect: @escaping @Sendable () -> Void) {
        guard enabled else { return }
        collectors.withLock { $0.append(collect) }
    }

    /// The Prometheus text exposition of every series, gauges read just now; nil when metrics are off.
    public func exposition() -> [UInt8]? {
        guard let registry else { return nil }
        for collect in collectors.withLock({ $0 }) { collect() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        return buffer
    }
}
