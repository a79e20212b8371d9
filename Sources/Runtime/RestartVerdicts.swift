import Foundation
import Plugins
import Stores

/// The runtime's verdict on a changed plugin, read from the restart machinery: a change's restart reasons are gone
/// once the restart that carried them has settled (the runtime is `running` or `failed` again, see
/// `RestartScheduler.settle`); the status after that is the verdict. A later change's reasons that joined the same
/// restart are settled by it too, so changes that share one restart share one verdict.
public struct RestartVerdicts: VerdictSource {
    let reasons: RestartReasonStore
    let runtime: BridgeRuntime
    let poll: Duration
    /// Whether changes wait for a verdict (`autoRestart` on); without it the runtime's word is still read.
    public let waits: Bool

    public init(reasons: RestartReasonStore, runtime: BridgeRuntime, waits: Bool = true, poll: Duration = .milliseconds(200)) {
        self.reasons = reasons
        self.runtime = runtime
        self.waits = waits
        self.poll = poll
    }

    public func verdict(package: String, changedAt: String, timeoutMs: Int) -> LoadVerdict {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        var lastSeen: RuntimeSnapshot?
        while true {
            if !restartPending(through: changedAt) {
                runtime.invalidate()
                if let snapshot = runtime.snapshot() {
                    lastSeen = snapshot
                    if let verdict = Self.verdict(of: package, in: snapshot) { return verdict }
                }
            }
            guard ContinuousClock.now < deadline else { break }
            Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
        }
        let seconds = timeoutMs % 1000 == 0 ? "\(timeoutMs / 1000) s" : "\(timeoutMs) ms"
        if restartPending(through: changedAt) {
            return LoadVerdict(loaded: false, error: "the agent did not restart with \(package) within \(seconds) (verdictTimeoutMs)")
        }
        if let snapshot = lastSeen, snapshot.state == "starting" {
            return LoadVerdict(loaded: false, error: "\(package) was still loading after \(seconds) (verdictTimeoutMs); it hangs at import or in init")
        }
        return LoadVerdict(loaded: false, error: "the agent runtime gave no verdict on \(package) within \(seconds) (verdictTimeoutMs)")
    }

    public func current(package: String) -> LoadVerdict? {
        guard !restartPending(through: ISOTime.string()) else { return nil }
        runtime.invalidate()
        guard let snapshot = runtime.snapshot(), snapshot.plugin(package) != nil else { return nil }
        return Self.verdict(of: package, in: snapshot)
    }

    public func current(packages: [String]) -> [String: LoadVerdict] {
        guard !restartPending(through: ISOTime.string()), let snapshot = runtime.snapshot() else { return [:] }
        var found: [String: LoadVerdict] = [:]
        for package in packages where snapshot.plugin(package) != nil {
            found[package] = Self.verdict(of: package, in: snapshot)
        }
        return found
    }

    /// Whether a reason added no later than `time` still waits for its restart (or for that restart to settle).
    func restartPending(through time: String) -> Bool {
        guard let pending = try? reasons.entries() else { return true }
        return pending.contains { $0.addedAt <= time }
    }

    /// A settled runtime's word on one plugin: nil while it is still loading, or when it does not list the plugin.
    static func verdict(of package: String, in snapshot: RuntimeSnapshot) -> LoadVerdict? {
        guard snapshot.state == "running" || snapshot.state == "failed" else { return nil }
        guard let plugin = snapshot.plugin(package) else {
            return snapshot.state == "running" ? LoadVerdict(loaded: false, error: "the agent runtime does not list \(package) after its restart") : nil
        }
        if plugin.loaded { return LoadVerdict(loaded: true, error: nil) }
        if let error = plugin.error { return LoadVerdict(loaded: false, error: error) }
        return snapshot.state == "failed" ? LoadVerdict(loaded: false, error: "the agent runtime failed before it loaded \(package)") : nil
    }
}
