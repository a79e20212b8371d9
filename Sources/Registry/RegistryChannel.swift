import SemVer

/// One release channel of a registry entry (`v0`, `v1`, `v2`, `alpha`, or any name upstream invents).
public struct RegistryChannel: Sendable, Equatable {
    /// The channel's name as upstream wrote it.
    public var name: String
    /// The npm version published on this channel (`npm.<channel>`).
    public var npmVersion: String?
    /// The `@elizaos/core` range that version declares (`npm.<channel>CoreRange`).
    public var coreRange: String?
    /// The git tag or version of this channel (`git.<channel>.version`), kept as written.
    public var gitVersion: String?
    /// The git branch of this channel (`git.<channel>.branch`), for eject.
    public var gitBranch: String?
    /// `supports.<channel>`; nil when upstream says nothing.
    public var supported: Bool?

    public init(
        name: String, npmVersion: String? = nil, coreRange: String? = nil, gitVersion: String? = nil, gitBranch: String? = nil,
        supported: Bool? = nil
    ) {
        self.name = name
        self.npmVersion = npmVersion
        self.coreRange = coreRange
        self.gitVersion = gitVersion
        self.gitBranch = gitBranch
        self.supported = supported
    }

    /// Channels in a stable order: `v<N>` by number first, then the others by name.
    static func precedes(_ a: String, _ b: String) -> Bool {
        switch (versionNumber(a), versionNumber(b)) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a < b
        }
    }

    private static func versionNumber(_ name: String) -> Int? {
        guard name.count > 1, name.hasPrefix("v") else { return nil }
        return Int(name.dropFirst())
    }
}

/// Which channel's version a listing shows and an install would take.
public enum ChannelPolicy: Sendable, Equatable, CustomStringConvertible {
    /// The highest stable version among the channels the entry supports, else the highest pre-release.
    case auto
    /// Always this channel (no version when the entry does not publish on it).
    case named(String)

    /// `auto`, or a channel name of letters, digits, `.`, `_` or `-` (at most 32).
    public init?(_ text: String) {
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.lowercased() == "auto" {
            self = .auto
            return
        }
        guard (1...32).contains(trimmed.utf8.count),
            trimmed.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else { return nil }
        self = .named(trimmed)
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .named(let name): name
        }
    }

    /// The same choice, once the agent's core version is known (issue 19, overriding contract section 7): `auto`
    /// looks first at the channels whose core range fits `core`, then at those that do not say, and only then at
    /// the others. A named channel is that channel, whatever it needs.
    public func select(from channels: [RegistryChannel], core: Version?) -> (channel: String, version: String)? {
        guard case .auto = self, let core else { return select(from: channels) }
        let published = channels.filter { $0.npmVersion != nil }
        for wanted in [true, nil] as [Bool?] {
            if let choice = select(from: published.filter { CoreCompatibility.check($0.coreRange, core: core) == wanted }) { return choice }
        }
        return select(from: channels)
    }

    /// The channel and version to use among `channels`, or nil when none qualifies.
    ///
    /// `auto` looks at the supported channels that publish an npm version; when upstream marks none of
    /// them supported (its `supports` flags are often stale) it looks at every channel with a version.
    public func select(from channels: [RegistryChannel]) -> (channel: String, version: String)? {
        switch self {
        case .named(let name):
            guard let channel = channels.first(where: { $0.name == name }), let version = channel.npmVersion else { return nil }
            return (name, version)
        case .auto:
            let published = channels.filter { $0.npmVersion != nil }
            let supported = published.filter { $0.supported == true }
            let candidates = supported.isEmpty ? published : supported
            guard !candidates.isEmpty else { return nil }
            var bestStable: (RegistryChannel, Version)?
            var bestPre: (RegistryChannel, Version)?
            for channel in candidates {
                guard let text = channel.npmVersion, let version = Version(lenient: text) else { continue }
                if !version.isPrerelease {
                    if bestStable.map({ $0.1 < version }) ?? true { bestStable = (channel, version) }
                } else if bestPre.map({ $0.1 < version }) ?? true {
                    bestPre = (channel, version)
                }
            }
            if let (channel, _) = bestStable ?? bestPre { return (channel.name, channel.npmVersion!) }
            // Nothing reads as a version: take the last channel in channel order, as written.
            let last = candidates.max { RegistryChannel.precedes($0.name, $1.name) }!
            return (last.name, last.npmVersion!)
        }
    }
}
