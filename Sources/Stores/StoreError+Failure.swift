import Failures

extension StoreError: UserFacingError {
    public var kind: FailureKind {
        switch self {
        case .noSpace: .insufficientStorage
        case .configUnparsable, .configIO, .corrupt: .unavailable
        }
    }
}

extension TokenLabelError: UserFacingError {
    public var kind: FailureKind { .badRequest }
}
