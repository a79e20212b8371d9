import Locking

/// Secrets replaced or cleared while the runtime may still hold them: scrubbed from everything the runtime
/// says until it has restarted after they were retired. Kept in memory only, never on disk (a database or
/// its free pages would keep a secret the user meant to get rid of); after plugind restarts, only the current
/// secrets are scrubbed.
public final class RetiredSecretStore: Sendable {
    private let retired = Locked<[String: String]>([:])

    public init() {}

    public func add(_ value: String) {
        retired.withLock { $0[value] = ISOTime.string() }
    }

    public func all() -> [String] {
        retired.withLock { Array($0.keys) }
    }

    /// Forgets the ones retired before the runtime (re)started.
    public func prune(runtimeStartedAt: String) {
        retired.withLock { $0 = $0.filter { $0.value >= runtimeStartedAt } }
    }
}
