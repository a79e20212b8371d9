/// Why the npm registry did not deliver: the installer turns each case into its own error of the same kind.
public enum NpmRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The registry has no such package (404).
    case notFound(String)
    /// What the registry sent, or where it points, is not acceptable: too large, a tarball elsewhere, not https.
    case refused(String)
    /// The registry could not be reached, answered an unexpected status, or sent something that is not a packument.
    case upstream(String)
    /// The registry did not answer in time.
    case timedOut(String)

    public var description: String {
        switch self {
        case .notFound(let m), .refused(let m), .upstream(let m), .timedOut(let m): m
        }
    }
}
