/// Who may call a route. `read` tokens may only look; `admin` tokens may change things.
public enum Role: String, Sendable, Comparable, CaseIterable {
    case read
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs == .read && rhs == .admin }
}

/// Tells which role a bearer token carries, if any. Comparison must take constant time.
public protocol TokenVerifier: Sendable {
    func role(forToken token: String) -> Role?
}
