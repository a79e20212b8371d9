/// Told when an operation's work starts and how it ends, on the thread that runs it (the audit trail notes the
/// operation of the request it belongs to). Never told of an operation refused before it started.
public protocol OperationObserver: Sendable {
    func operationStarted(id: String, kind: String, target: String)
    func operationFinished(id: String, kind: String, target: String, succeeded: Bool)
}

extension OperationRunner {
    /// Adds an observer of every operation this runner starts from now on.
    public func addObserver(_ observer: any OperationObserver) {
        observers.withLock { $0.append(observer) }
    }

    /// Runs `work` between the observers' start and finish.
    func observing<T>(kind: String, _ context: OperationContext, _ work: (OperationContext) throws -> T) throws -> T {
        let observers = observers.withLock { $0 }
        guard !observers.isEmpty else { return try work(context) }
        for observer in observers { observer.operationStarted(id: context.id, kind: kind, target: context.target) }
        do {
            let result = try work(context)
            for observer in observers { observer.operationFinished(id: context.id, kind: kind, target: context.target, succeeded: true) }
            return result
        } catch {
            for observer in observers { observer.operationFinished(id: context.id, kind: kind, target: context.target, succeeded: false) }
            throw error
        }
    }
}
