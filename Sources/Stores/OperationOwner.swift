/// One plugind process (its pid) and one instance of a service in it (a token made at its start): who owns a
/// running operation or the heartbeat lease. Recovery and the lease leave a live owner alone.
public struct ProcessOwner: Sendable, Equatable {
    public let pid: Int32
    public let token: String
    public init(pid: Int32, token: String) {
        self.pid = pid
        self.token = token
    }
}

/// The process that owns a running operation.
public typealias OperationOwner = ProcessOwner
