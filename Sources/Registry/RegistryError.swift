import Failures
import JSON

/// What went wrong asking the upstreams: one clause for the sentence, and each URL's reason for `details` and the log.
public struct UpstreamFailure: Sendable, Equatable {
    /// What failed, as a clause that fits in a sentence: "no upstream served a usable registry (4 tried)".
    public let summary: String
    /// `url: reason`, one per URL tried (never repeated in a message).
    public let details: [String]

    public init(summary: String, details: [String]) {
        self.summary = summary
        self.details = details
    }

    /// Every URL tried failed (or none is configured).
    static func allFailed(_ details: [String], tried: Int) -> UpstreamFailure {
        tried == 0
            ? UpstreamFailure(summary: "no registry URL is configured", details: details)
            : UpstreamFailure(summary: "no upstream served a usable registry (\(tried) tried)", details: details)
    }

    /// What fixes it, after the clause.
    static let remedy = "check pluginRegistryUrls or the network, then POST /api/registry/refresh"

    /// One sentence: the clause, capitalised, and what to do about it (`source.lastError`).
    public var sentence: String { "Plugin registry: \(summary); \(Self.remedy)." }

    /// Stored as lines: the clause, then each detail (a row written before the split is one detail).
    var stored: String { ([summary] + details).joined(separator: "\n") }

    init(stored: String) {
        let lines = stored.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if lines.count > 1 || stored.count <= 120 {
            self.init(summary: lines.first ?? "no upstream served a usable registry", details: Array(lines.dropFirst()))
        } else {
            self.init(summary: "no upstream served a usable registry", details: [stored])
        }
    }
}

/// Which copy the registry serves while upstream fails.
public enum ServedCopy: Sendable, Equatable {
    /// A copy upstream served at this time (ISO 8601).
    case fetched(String)
    /// The snapshot built from plugind's own catalogue.
    case bundled
    /// Nothing.
    case none

    var clause: String {
        switch self {
        case .fetched(let at): "the copy fetched \(at) is still served"
        case .bundled: "the bundled catalogue is served meanwhile"
        case .none: "there is no copy to serve"
        }
    }
}

/// Why a registry request was refused. The API maps each case to one status (see `docs/registry.md`).
public enum RegistryError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// No snapshot in memory or in the database, no bundled catalogue, and upstream could not be read (503).
    case noSnapshot(UpstreamFailure)
    /// A forced refresh failed; what is served meanwhile says the second case (502).
    case fetchFailed(UpstreamFailure, served: ServedCopy)
    /// No registry entry matches the name (404).
    case notFound(String)
    /// Several registry entries match the name; the client must use an npm name (409 with `candidates`).
    case ambiguous(String, candidates: [String])
    /// A search or list parameter that cannot be used (400).
    case badQuery(String)

    public var description: String {
        switch self {
        case .noSnapshot(let failure):
            "The plugin registry is not available: nothing is cached and \(failure.summary); \(UpstreamFailure.remedy)."
        case .fetchFailed(let failure, let served):
            "Refreshing the plugin registry failed: \(failure.summary); \(served.clause); check pluginRegistryUrls or the network, then try again."
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
        switch self {
        case .ambiguous(_, let candidates): .listing("candidates", candidates)
        case .noSnapshot(let failure), .fetchFailed(let failure, _): .listing("details", failure.details, evenIfEmpty: false)
        default: JSONObject()
        }
    }
}
