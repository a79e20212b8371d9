/// Who may call a route. `read` tokens may only look; `admin` tokens may change things.
public enum Role: String, Sendable, Comparable, CaseIterable {
    case read
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs == .read && rhs == .admin }
}

/// Tells which role a bearer token carries, if any. Comparison must take constant time.
public protocol TokenVerifier: Sendable {
    func role(forToken token: String) -> Role?
    /// The role with the token's id and label (the audit trail's words for who acted); by default the role alone.
    func caller(forToken token: String) -> Caller?
}
