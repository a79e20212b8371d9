import JSON

/// One long-running change (install, eject, …). Encoded, it is the operation as the operations API shows it: every
/// member but the checkpoint, in this order, nil as null.
public struct OperationRecord: Sendable, Equatable, Encodable {
    public enum State: String, Sendable, Encodable {
        case running, succeeded, failed
    }
    public var id: String
    public var kind: String
    public var target: String
    public var state: State
    public var phase: String
    public var progress: Double?
    public var startedAt: String
    public var finishedAt: String?
    public var requestId: String?
    public var error: String?
    public var logTail: [String]
    public var result: JSONValue?
    /// What the operation had done when last recorded, for recovery after a crash.
    public var checkpoint: JSONValue?

    public init(id: String, kind: String, target: String, requestId: String?) {
        self.id = id
        self.kind = kind
        self.target = target
        self.state = .running
        self.phase = "starting"
        self.progress = nil
        self.startedAt = ISOTime.string()
        self.requestId = requestId
        self.logTail = []
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, target, state, phase, progress, startedAt, finishedAt, requestId, error, logTail, result
    }
}
