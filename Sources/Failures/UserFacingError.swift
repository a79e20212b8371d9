import JSON

/// What went wrong, as the person who asked sees it. The HTTP edge gives each kind exactly one status, so a
/// service says what happened without knowing HTTP.
public enum FailureKind: Sendable, Equatable, CaseIterable {
    /// The request itself is wrong: a field's type, a malformed id, a bad query.
    case badRequest
    /// What the request names does not exist.
    case notFound
    /// The request collides with the current state: busy, already done, local edits in the way.
    case conflict
    /// Well-formed, but refused: validation, policy, an unlisted package, a failed build.
    case unprocessable
    /// A service plugind depends on answered badly (a registry, git, npm).
    case badGateway
    /// plugind cannot answer now (no snapshot yet, the runtime is down, too many operations).
    case unavailable
    /// A service plugind depends on, or a step of its own, ran out of time.
    case gatewayTimeout
    /// The disk is full.
    case insufficientStorage
}

/// An error a client sees: its kind, one sentence a person can act on (never a secret), and the members its
/// body carries besides (`conflicts`, `candidates`, `validationErrors`, …). Every error a service throws to a
/// route conforms, next to its declaration; an error that does not is a bug and answers 500.
public protocol UserFacingError: Error, CustomStringConvertible {
    var kind: FailureKind { get }
    /// One sentence; by default the error's description.
    var message: String { get }
    /// Extra members of the error body.
    var details: JSONObject { get }
    /// Seconds after which trying again makes sense, when the kind is `unavailable`.
    var retryAfterSeconds: Int? { get }
}

extension UserFacingError {
    public var message: String { description }
    public var details: JSONObject { JSONObject() }
    public var retryAfterSeconds: Int? { nil }
}

extension JSONObject {
    /// `key: strings`, or nothing when `strings` is empty.
    public static func listing(_ key: String, _ strings: [String], evenIfEmpty: Bool = true) -> JSONObject {
        strings.isEmpty && !evenIfEmpty ? JSONObject() : JSONObject([.init(key: key, value: .strings(strings))])
    }
}
