import JSON

// What the registry routes answer, member for member in the order the API has always written them (ETags depend on
// the bytes). Optional members are written as null.

/// GET /api/registry/plugins: `count` plugins returned of the `total` that matched.
public struct RegistryList: Encodable, Sendable {
    public let count: Int
    public let total: Int
    public let plugins: [RegistryPluginSummary]
    public let source: RegistrySourceReport
}

/// GET /api/registry/plugins/:name.
public struct RegistryDetails: Encodable, Sendable {
    public let plugin: RegistryPluginDetails
}

/// POST /api/registry/refresh (and the operation's result).
public struct RegistryRefreshResult: Encodable, Sendable {
    public let ok = true
    public let count: Int
    public let source: RegistrySourceReport
}

/// The snapshot served: where it came from, when, and the last upstream failure.
public struct RegistrySourceReport: Encodable, Sendable {
    public let url: String
    public let format: String
    public let fetchedAt: String
    public let lastUpdatedAt: String?
    /// The last upstream failure as one sentence naming the fix; null once a fetch succeeds.
    public let lastError: String?
    public let skipped: Int
    /// `upstream` (fetched) or `bundled` (plugind's own catalogue, served until a fetch succeeds).
    public let kind: String
    /// The last failure's reason per URL (`url: reason`); empty once a fetch succeeds.
    public let errors: [String]
}

/// `npm` of a listed plugin: the package and the version of the channel in use; then, for Milady's app, the version
/// of each of the channels v0, v1 and v2 (null when the channel has none).
public struct RegistryNpm: Encodable, Sendable {
    public let package: String
    public let version: String?
    public let v0Version: String?
    public let v1Version: String?
    public let v2Version: String?

    init(_ entry: RegistryEntry) {
        package = entry.npmPackage
        version = entry.version
        func channel(_ name: String) -> String? { entry.channels.first { $0.name == name }?.npmVersion }
        (v0Version, v1Version, v2Version) = (channel("v0"), channel("v1"), channel("v2"))
    }
}

/// The members Milady's app reads beside the seed's, in both the list and the details.
enum MiladyRegistryFields {
    /// `https://github.com/<owner/repo>.git` for the registry's `git.repo` (how Milady's registry writes it), else the
    /// repository URL, else null.
    static func gitUrl(_ entry: RegistryEntry) -> String? {
        entry.gitRepo.map { "https://github.com/\($0).git" } ?? entry.repository
    }
}

/// One row of the list.
public struct RegistryPluginSummary: Encodable, Sendable {
    public let name: String
    public let id: String?
    public let displayName: String
    public let description: String
    public let npm: RegistryNpm
    /// Whether `npm.version` fits the agent's `@elizaos/core`; null when either is unknown.
    public let compatible: Bool?
    /// When `compatible` is false: what it needs (`needs @elizaos/core ^0.1.9`); else null.
    public let compatibility: String?
    public let kind: String
    public let tags: [String]
    public let stars: Int
    public let repository: String?
    // Milady's app reads these too (docs/milady-compatibility.md).
    public let homepage: String?
    public let language: String?
    public let gitRepo: String?
    public let gitUrl: String?
    /// The registry's topics: the same list as `tags`.
    public let topics: [String]
    public let supports: RegistryChannelSupport
    public let git: RegistryGit
    public let installed: Bool
    public let installedVersion: String?
    public let loaded: Bool
    public let bundled: Bool

    init(_ entry: RegistryEntry, id: String?, status: RegistryPluginStatus) {
        name = entry.name
        self.id = id
        displayName = entry.displayName
        description = entry.description
        npm = RegistryNpm(entry)
        compatible = entry.compatible
        compatibility = entry.compatibility
        kind = entry.kind
        tags = entry.tags
        stars = entry.stars
        repository = entry.repository
        homepage = entry.homepage
        language = entry.language
        gitRepo = entry.gitRepo
        gitUrl = MiladyRegistryFields.gitUrl(entry)
        topics = entry.tags
        supports = RegistryChannelSupport(channels: entry.channels)
        git = RegistryGit(repo: entry.gitRepo, channels: entry.channels)
        installed = status.installed
        installedVersion = status.installedVersion
        loaded = status.loaded
        bundled = status.bundled
    }
}

/// One plugin's details: one object with everything the registry lists, then what plugind knows of it.
public struct RegistryPluginDetails: Encodable, Sendable {
    public let listed: RegistryListedPlugin
    public let status: RegistryPluginStatus

    public func encode(to encoder: any Encoder) throws {
        // Both write into the same object: the registry's members first, plugind's after them.
        try listed.encode(to: encoder)
        try status.encode(to: encoder)
    }
}

/// Everything the registry lists about one plugin: it depends only on the snapshot, so its bytes can be kept.
public struct RegistryListedPlugin: Encodable, Sendable {
    public let name: String
    public let id: String?
    public let displayName: String
    public let description: String
    public let npm: RegistryNpm
    public let channel: String?
    public let compatible: Bool?
    public let compatibility: String?
    /// `{<channel>: its @elizaos/core range or null}`, in channel order.
    public let coreRanges: RegistryChannelCoreRanges
    public let versions: RegistryChannelVersions
    public let supports: RegistryChannelSupport
    public let author: String?
    public let repository: String?
    public let homepage: String?
    public let tags: [String]
    public let stars: Int
    public let language: String?
    public let kind: String
    public let origin: String?
    public let support: String?
    public let git: RegistryGit
    public let directory: String?
    /// The app metadata as upstream wrote it.
    public let app: JSONValue?
    // Milady's app reads these too (docs/milady-compatibility.md).
    public let gitRepo: String?
    public let gitUrl: String?
    /// The registry's topics: the same list as `tags`.
    public let topics: [String]

    init(_ entry: RegistryEntry, id: String?) {
        name = entry.name
        self.id = id
        displayName = entry.displayName
        description = entry.description
        npm = RegistryNpm(entry)
        channel = entry.versionChannel
        compatible = entry.compatible
        compatibility = entry.compatibility
        coreRanges = RegistryChannelCoreRanges(channels: entry.channels)
        versions = RegistryChannelVersions(channels: entry.channels)
        supports = RegistryChannelSupport(channels: entry.channels)
        author = entry.author
        repository = entry.repository
        homepage = entry.homepage
        tags = entry.tags
        stars = entry.stars
        language = entry.language
        kind = entry.kind
        origin = entry.origin
        support = entry.support
        git = RegistryGit(repo: entry.gitRepo, channels: entry.channels)
        directory = entry.directory
        app = entry.app
        gitRepo = entry.gitRepo
        gitUrl = MiladyRegistryFields.gitUrl(entry)
        topics = entry.tags
    }
}

// `versions`, `supports` and `git` are objects keyed by channel name: their member names are data, not fields. Each
// is written as one ordered object through a single-value container rather than a keyed container: a keyed container
// costs runtime type look-ups that contend across worker threads, and with six of them a plugin's details answered
// about a sixth slower than when these were plain objects.

/// `versions`: `{<channel>: npm version or null}`, in channel order.
public struct RegistryChannelVersions: Encodable, Sendable {
    public let channels: [RegistryChannel]

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(JSONObject(channels.map { .init(key: $0.name, value: .string($0.npmVersion)) }))
    }
}

/// `coreRanges`: `{<channel>: the @elizaos/core range it declares, or null}`, in channel order.
public struct RegistryChannelCoreRanges: Encodable, Sendable {
    public let channels: [RegistryChannel]

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(JSONObject(channels.map { .init(key: $0.name, value: .string($0.coreRange)) }))
    }
}

/// `supports`: `{<channel>: whether it supports the agent}`, only for channels that say.
public struct RegistryChannelSupport: Encodable, Sendable {
    public let channels: [RegistryChannel]

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(JSONObject(channels.compactMap { channel in channel.supported.map { .init(key: channel.name, value: .bool($0)) } }))
    }
}

/// `git`: `{repo, <channel>: {version, branch}}`, a channel only when it names a git version or branch; then, for
/// Milady's app, `v0Branch`, `v1Branch` and `v2Branch` (null when the channel names none).
public struct RegistryGit: Encodable, Sendable {
    public let repo: String?
    public let channels: [RegistryChannel]

    /// The members beside the channels' (no channel has one of these names: the parser refuses them).
    static let ownMembers: Set<String> = ["repo", "v0Branch", "v1Branch", "v2Branch"]

    public func encode(to encoder: any Encoder) throws {
        var members: [JSONObject.Member] = [.init(key: "repo", value: .string(repo))]
        for channel in channels where channel.gitVersion != nil || channel.gitBranch != nil {
            let source = JSONObject([.init(key: "version", value: .string(channel.gitVersion)), .init(key: "branch", value: .string(channel.gitBranch))])
            members.append(.init(key: channel.name, value: .object(source)))
        }
        for name in ["v0", "v1", "v2"] {
            members.append(.init(key: name + "Branch", value: .string(channels.first { $0.name == name }?.gitBranch)))
        }
        var container = encoder.singleValueContainer()
        try container.encode(JSONObject(members))
    }
}
