import JSON

/// One plugin of the community registry, normalised from whichever upstream shape it came in.
public struct RegistryEntry: Sendable, Equatable {
    /// The npm name the registry lists it under (the key of `registry`), case kept as written.
    public var name: String
    /// `app.displayName`, else the words of the name (`@elizaos/plugin-google-chat` → `Google Chat`).
    public var displayName: String
    /// Empty when upstream has none.
    public var description: String
    /// `npm.repo`, else the name.
    public var npmPackage: String
    /// The version of the channel in use (see `ChannelPolicy`); nil when no channel publishes one.
    public var version: String?
    /// The channel `version` comes from.
    public var versionChannel: String?
    /// Whether that channel's `@elizaos/core` range fits the agent's core; nil when either is unknown.
    public var compatible: Bool?
    /// When `compatible` is false: `needs @elizaos/core ^0.1.9`.
    public var compatibility: String?
    /// Every channel upstream mentions, in channel order.
    public var channels: [RegistryChannel]
    /// `git.repo` as `owner/repo` (validated), for eject.
    public var gitRepo: String?
    /// The repository's web address (the git base URL + `gitRepo`).
    public var repository: String?
    public var homepage: String?
    /// The entry's `author`, else the repository owner, else the npm scope.
    public var author: String?
    /// `topics` (or `tags`), without duplicates.
    public var tags: [String]
    public var stars: Int
    public var language: String?
    /// `plugin`, `connector`, `app`, … (`kind`, else `registryKind`, else `app` for app metadata or an `app-` name, else `plugin`).
    public var kind: String
    /// `builtin` or `third-party` (registry-v2 only).
    public var origin: String?
    /// `first-party` or `community` (registry-v2 only).
    public var support: String?
    /// The package's folder inside a monorepo (`plugins/plugin-openai`), checked to stay inside it.
    public var directory: String?
    /// The app metadata object as upstream wrote it (registry-v2 apps).
    public var app: JSONValue?

    public init(name: String) {
        self.name = name
        self.displayName = RegistryEntry.words(of: name)
        self.description = ""
        self.npmPackage = name
        self.channels = []
        self.tags = []
        self.stars = 0
        self.kind = "plugin"
    }

    public func channel(_ name: String) -> RegistryChannel? { channels.first { $0.name == name } }

    // MARK: Display names

    private static let acronyms: Set<String> = [
        "ai", "api", "evm", "nft", "sql", "tts", "llm", "mcp", "rss", "tee", "gpu", "xmtp", "iq", "svm", "dex", "ui",
    ]

    /// The name's words, capitalised: scope and a leading `plugin-`/`app-` dropped, split on `-`, `_` and `.`.
    static func words(of name: String) -> String {
        var short = Substring(name)
        if short.hasPrefix("@"), let slash = short.firstIndex(of: "/") { short = short[short.index(after: slash)...] }
        for prefix in ["plugin-", "app-"] where short.hasPrefix(prefix) && short.count > prefix.count {
            short = short.dropFirst(prefix.count)
            break
        }
        let parts = short.split { $0 == "-" || $0 == "_" || $0 == "." }
        guard !parts.isEmpty else { return name }
        return parts.map { part -> String in
            if acronyms.contains(part.lowercased()) { return part.uppercased() }
            return part.prefix(1).uppercased() + part.dropFirst()
        }.joined(separator: " ")
    }
}
