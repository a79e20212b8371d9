/// What eject, sync and reinject answer (and their operations record as their result); members in this order.
public struct EjectResult: Encodable, Sendable {
    public let ok = true
    public let localPath: String
    public let requiresRestart = true
    public let commit: String
    /// How the commit was chosen: the release's gitHead, a tag, or the branch head.
    public let checkedOut: String
}

public struct SyncResult: Encodable, Sendable {
    public let ok = true
    public let requiresRestart: Bool
    public let upstreamCommits: Int
    public let localChanges: Bool
    public let commit: String
    /// The runtime's verdict on the synced code after its restart; nil when nobody waited (nothing the agent loads
    /// changed, the plugin is not enabled, no runtime attached, or `autoRestart` off).
    public var loaded: Bool?
    /// Why it did not load, when `loaded` is false.
    public var loadError: String?
    /// What the user should know (always present): synced code that did not load, and how to go back.
    public var warnings: [String] = []
}

public struct ReinjectResult: Encodable, Sendable {
    public let ok = true
    public let requiresRestart = true
    public let archivedTo: String
}

/// GET /api/plugins/ejected.
public struct EjectedList: Encodable, Sendable {
    public let plugins: [EjectedPlugin]
}

public struct EjectedPlugin: Encodable, Sendable {
    public struct Upstream: Encodable, Sendable {
        public let gitUrl: String?
        public let branch: String?
        public let commit: String?
        public let ejectedAt: String?
        public let lastSyncAt: String?
    }

    public let name: String
    public let localPath: String
    public let version: String?
    public let upstream: Upstream
    public let localChanges: Bool
    public let localCommits: Int
    /// Where an interrupted sync left edits it could not put back, and what to run; nil when none.
    public let warning: String?
}

/// A new `.upstream.json`, in the shape Milady's own reader expects (`milaidy-upstream-v1`). Later changes edit the
/// file in place, keeping members another tool added.
struct UpstreamRecord: Encodable {
    let source: String
    let gitUrl: String
    let branch: String
    let commitHash: String
    let ejectedAt: String
    let npmPackage: String
    let npmVersion: String
    let lastSyncAt: String? = nil
    let localCommits = 0

    enum CodingKeys: String, CodingKey {
        case schema = "$schema"
        case source, gitUrl, branch, commitHash, ejectedAt, npmPackage, npmVersion, lastSyncAt, localCommits
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("milaidy-upstream-v1", forKey: .schema)
        try container.encode(source, forKey: .source)
        try container.encode(gitUrl, forKey: .gitUrl)
        try container.encode(branch, forKey: .branch)
        try container.encode(commitHash, forKey: .commitHash)
        try container.encode(ejectedAt, forKey: .ejectedAt)
        try container.encode(npmPackage, forKey: .npmPackage)
        try container.encode(npmVersion, forKey: .npmVersion)
        try container.encodeNil(forKey: .lastSyncAt)
        try container.encode(localCommits, forKey: .localCommits)
    }
}

/// How far a sync got, for recovery after a crash: the HEAD to go back to (or that was merged and built), and
/// the status of every file before the merge, to verify a restore against. Stored flat, as before.
struct SyncCheckpoint: Codable {
    enum Step: String, Codable {
        /// Stash, merge, package check and stash pop: HEAD and status are from before.
        case merging
        /// The merge is in (HEAD is the merged commit); the build has not finished.
        case merged
        /// Built: the sync is complete.
        case built
    }

    var step: Step
    var head: String
    var status: String?
    /// merged and built: how many upstream commits the merge brought (for a recovered sync's result).
    var upstreamCommits: Int?

    init(step: Step, head: String, status: String? = nil, upstreamCommits: Int? = nil) {
        self.step = step
        self.head = head
        self.status = status
        self.upstreamCommits = upstreamCommits
    }

    enum CodingKeys: String, CodingKey { case step, head, status, upstreamCommits }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(step, forKey: .step)
        try container.encode(head, forKey: .head)
        if let status { try container.encode(status, forKey: .status) }
        if let upstreamCommits { try container.encode(upstreamCommits, forKey: .upstreamCommits) }
    }
}
