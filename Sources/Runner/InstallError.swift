import Adapters
import Failures
import JSON

/// Why an install or uninstall was refused or failed; the API maps each case to one status.
public enum InstallError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// The name or version is not acceptable (400).
    case badRequest(String)
    /// The package or plugin is unknown (404).
    case notFound(String)
    /// The plugin registry does not list the package (422).
    case unlisted(String)
    /// No plugin registry snapshot exists to check the listing against (503).
    case noRegistrySnapshot(String)
    /// Well-formed but unacceptable: no satisfying version, integrity, signatures, tarball content, staged name (422).
    case refused(String)
    /// A package of the tree is not something plugind installs: a non-registry spec, a shrinkwrap, bundled
    /// dependencies, a dependency that does not exist (422, with `dependencyPath` and `spec`).
    case dependencyRefused(String, path: [String], spec: String?)
    /// A state conflict: bundled without a record, ejected, directory clash (409).
    case conflict(String)
    /// Refused before anything was downloaded, unless the request says `force`: a version that does not fit the
    /// agent's `@elizaos/core`, or an advisory at or above the blocking severity (409, with the details as fields).
    case unlessForced(String, details: JSONObject)
    /// The npm registry or npm itself failed (502).
    case upstream(String)
    /// The npm registry or a child process ran out of time (504).
    case timedOut(String)
    /// The state directory is full (507).
    case noSpace(String)

    public var description: String {
        switch self {
        case .badRequest(let m), .notFound(let m), .unlisted(let m), .noRegistrySnapshot(let m), .refused(let m),
            .conflict(let m), .upstream(let m), .timedOut(let m), .noSpace(let m), .dependencyRefused(let m, _, _), .unlessForced(let m, _):
            m
        }
    }
}

extension InstallError {
    public var kind: FailureKind {
        switch self {
        case .badRequest: .badRequest
        case .notFound: .notFound
        case .conflict, .unlessForced: .conflict
        case .unlisted, .refused, .dependencyRefused: .unprocessable
        case .upstream: .badGateway
        case .noRegistrySnapshot: .unavailable
        case .timedOut: .gatewayTimeout
        case .noSpace: .insufficientStorage
        }
    }

    public var details: JSONObject {
        if case .unlessForced(_, let details) = self { return details }
        guard case .dependencyRefused(_, let path, let spec) = self else { return JSONObject() }
        var fields: JSONObject = ["dependencyPath": .string(path.joined(separator: " → "))]
        if let spec { fields["spec"] = .string(spec) }
        return fields
    }
}

extension InstallError {
    /// The npm registry's failure, as the same kind of install failure.
    public init(_ error: NpmRegistryError) {
        switch error {
        case .notFound(let m): self = .notFound(m)
        case .refused(let m): self = .refused(m)
        case .upstream(let m): self = .upstream(m)
        case .timedOut(let m): self = .timedOut(m)
        }
    }

    /// Runs a call to the npm registry, its failure as an install failure.
    public static func fromRegistry<T>(_ call: () throws(NpmRegistryError) -> T) throws(InstallError) -> T {
        do {
            return try call()
        } catch {
            throw InstallError(error)
        }
    }
}
