import Glibc

/// One plugind process (its pid) and one instance of a service in it (a token made at its start): who owns a
/// running operation or the heartbeat lease. Recovery and the lease leave a live owner alone.
public struct ProcessOwner: Sendable, Equatable {
    public let pid: Int32
    public let token: String
    public init(pid: Int32, token: String) {
        self.pid = pid
        self.token = token
    }

    /// Whether this owner still runs, as `me` sees it: in this very process only the same instance counts (a
    /// service's earlier instance in a test, or a pid reused, is gone); another process while its pid is alive.
    public func isAlive(as me: ProcessOwner) -> Bool {
        if pid == me.pid { return token == me.token }
        return Self.isAlive(pid)
    }

    /// Whether a process with this pid exists (`EPERM`: it does, as another user's).
    public static func isAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}

/// The process that owns a running operation.
public typealias OperationOwner = ProcessOwner
