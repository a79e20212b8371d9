import Foundation
import Plugins
import Locking

/// The runtime as the plugin routes see it: the bridge's status, cached for about a second so a
/// busy dashboard does not turn into a stream of bridge calls, and nil whenever the runtime is down.
public final class BridgeRuntime: RuntimeView {
    public let client: RuntimeBridgeClient
    let freshFor: Duration
    private let cache = Locked<(at: ContinuousClock.Instant, snapshot: RuntimeSnapshot?)?>(nil)

    public init(client: RuntimeBridgeClient, freshFor: Duration = .seconds(1)) {
        self.client = client
        self.freshFor = freshFor
    }

    public var attached: Bool { true }

    public func snapshot() -> RuntimeSnapshot? {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ entry -> RuntimeSnapshot?? in
            guard let entry, entry.at.duration(to: now) < freshFor else { return nil }
            return .some(entry.snapshot)
        }) { return hit }
        let fresh = try? client.status()
        // Stamped after the call: a slow or dead runtime costs one timeout per period, not one per request.
        cache.withLock { $0 = (ContinuousClock.now, fresh) }
        return fresh
    }

    /// Drops the cached status (after a restart, a caller wants the truth).
    public func invalidate() { cache.withLock { $0 = nil } }

    public func check(package: String) throws(RuntimeError) -> PluginCheckResult {
        try client.check(package: package)
    }
}
