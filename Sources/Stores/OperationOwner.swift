/// The process that owns a running operation; recovery leaves live owners alone.
public struct OperationOwner: Sendable, Equatable {
    public let pid: Int32
    public let token: String
    public init(pid: Int32, token: String) {
        self.pid = pid
        self.token = token
    }
}
