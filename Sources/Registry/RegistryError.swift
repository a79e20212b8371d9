import Failures
import JSON

/// Why a registry request was refused. The API maps each case to one status (see `docs/registry.md`).
public enum RegistryError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// No snapshot in memory or in the database, and upstream could not be reached or read (503).
    case noSnapshot(upstreamFailure: String)
    /// A forced refresh failed; the previous snapshot, if any, is still served (502).
    case fetchFailed(String)
    /// No registry entry matches the name (404).
    case notFound(String)
    /// Several registry entries match the name; the client must use an npm name (409 with `candidates`).
    case ambiguous(String, candidates: [String])
    /// A search or list parameter that cannot be used (400).
    case badQuery(String)

    public var description: String {
        switch self {
        case .noSnapshot(let failure):
            "The plugin registry is not available yet: no copy is cached and upstream failed (\(failure)); plugind tries again in the background, and POST /api/registry/refresh tries now."
        case .fetchFailed(let failure):
            "Refreshing the plugin registry failed (\(failure)); the previous copy is still served."
        case .notFound(let name):
            "The plugin registry lists no plugin named '\(name.prefix(200))'."
        case .ambiguous(let name, let candidates):
            "'\(name.prefix(200))' matches \(candidates.count) registry plugins; use one of their npm names."
        case .badQuery(let message):
            message
        }
    }
}

extension RegistryError {
    public var kind: FailureKind {
        switch self {
        case .noSnapshot: .unavailable
        case .fetchFailed: .badGateway
        case .notFound: .notFound
        case .ambiguous: .conflict
        case .badQuery: .badRequest
        }
    }

    /// No copy yet: a read that comes a few seconds later may find the background retry's copy.
    public var retryAfterSeconds: Int? {
        if case .noSnapshot = self { return RegistryService.noCopyRetrySeconds }
        return nil
    }

    public var details: JSONObject {
        if case .ambiguous(_, let candidates) = self { return .listing("candidates", candidates) }
        return JSONObject()
    }
}
