import SemVer

/// How the registry service fetches, caches and presents the community registry.
public struct RegistryConfiguration: Sendable {
    /// The contract's upstreams: the generated registry of each source, then the `index.json` of each.
    public static let defaultURLs = [
        "https://plugins.elizacloud.ai/generated-registry.json",
        "https://raw.githubusercontent.com/elizaos-plugins/registry/next/generated-registry.json",
        "https://plugins.elizacloud.ai/index.json",
        "https://raw.githubusercontent.com/elizaos-plugins/registry/next/index.json",
    ]

    /// Upstream documents, tried in order until one reads.
    public var urls: [String]
    /// How long a snapshot is fresh, in seconds; a read after that serves it and refreshes in the background.
    public var ttl: Double
    /// After a failed automatic refresh, reads wait this many seconds before trying upstream again.
    public var retryInterval: Double
    /// Which channel's version entries show.
    public var channel: ChannelPolicy
    /// Larger documents are refused (also give the HTTP client this `maxResponseBytes`).
    public var maxDocumentBytes: Int
    /// What a registry `owner/repo` is appended to for the repository address.
    public var gitBaseURL: String
    /// The agent's `@elizaos/core` version, fixed for the process; nil: unknown (every entry's `compatible` is null).
    public var coreVersion: Version?

    public init(
        urls: [String] = RegistryConfiguration.defaultURLs, ttl: Double = 3600, retryInterval: Double = 60, channel: ChannelPolicy = .auto,
        maxDocumentBytes: Int = 32 << 20, gitBaseURL: String = "https://github.com/", coreVersion: Version? = nil
    ) {
        self.coreVersion = coreVersion
        self.urls = urls
        self.ttl = ttl
        self.retryInterval = retryInterval
        self.channel = channel
        self.maxDocumentBytes = maxDocumentBytes
        self.gitBaseURL = gitBaseURL
    }

    var parser: RegistryDocumentParser {
        RegistryDocumentParser(maxBytes: maxDocumentBytes, channel: channel, gitBaseURL: gitBaseURL, coreVersion: coreVersion)
    }
}
