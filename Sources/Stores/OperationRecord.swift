import JSON

/// One long-running change (install, eject, …) as the operations API shows it.
public struct OperationRecord: Sendable, Equatable {
    public enum State: String, Sendable {
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

    public var json: JSONValue {
        [
            "id": .string(id), "kind": .string(kind), "target": .string(target), "state": .string(state.rawValue),
            "phase": .string(phase), "progress": progress.map { .number($0) } ?? .null, "startedAt": .string(startedAt),
            "finishedAt": .string(finishedAt), "requestId": .string(requestId), "error": .string(error),
            "logTail": .strings(logTail), "result": result ?? .null,
        ]
    }
}
