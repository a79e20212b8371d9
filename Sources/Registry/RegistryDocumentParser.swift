import JSON
import SemVer

/// Reads every shape the registry has been published in, tolerating nulls and wrong types anywhere:
/// a field of the wrong type counts as missing, and an entry that cannot be understood is skipped and
/// counted, never fatal. Only a document that is too large, too deep, not JSON or not an object is refused.
public struct RegistryDocumentParser: Sendable {
    /// Nesting allowed in an upstream document (the contract's limit).
    public static let maxDepth = 256
    /// How many skip reasons a document keeps for the log.
    static let reasonsKept = 20

    /// Documents larger than this many bytes are refused.
    public var maxBytes: Int
    /// Which channel's version entries show.
    public var channel: ChannelPolicy
    /// What `owner/repo` is appended to for the repository address.
    public var gitBaseURL: String
    /// The `@elizaos/core` version the agent runs (nil: unknown): entries say whether they fit it, and `auto`
    /// prefers the channels that do.
    public var coreVersion: Version?

    public init(maxBytes: Int = 32 << 20, channel: ChannelPolicy = .auto, gitBaseURL: String = "https://github.com/", coreVersion: Version? = nil) {
        self.maxBytes = maxBytes
        self.channel = channel
        self.coreVersion = coreVersion
        self.gitBaseURL = gitBaseURL.hasSuffix("/") ? gitBaseURL : gitBaseURL + "/"
    }

    public func parse(_ bytes: [UInt8]) throws(RegistryDocumentError) -> RegistryDocument {
        guard bytes.count <= maxBytes else {
            throw RegistryDocumentError("the document is \(bytes.count) bytes, over the limit of \(maxBytes)")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes, maxDepth: Self.maxDepth)
        } catch {
            throw RegistryDocumentError(error.description)
        }
        guard case .object(let top) = root else { throw RegistryDocumentError("the document is \(root.kindName), not an object") }
        if let registry = top["registry"] {
            return try parseFull(top: top, registry: registry)
        }
        return parseIndex(top)
    }

    // MARK: Shapes

    private struct Collector {
        var entries: [String: RegistryEntry] = [:]
        var skipped = 0
        var reasons: [String] = []

        mutating func skip(_ name: String, _ reason: String) {
            skipped += 1
            if reasons.count < RegistryDocumentParser.reasonsKept { reasons.append("\(String(name.prefix(100))): \(reason)") }
        }

        var sortedEntries: [RegistryEntry] {
            entries.values.sorted { a, b in
                let (x, y) = (a.name.lowercased(), b.name.lowercased())
                return x != y ? x < y : a.name < b.name
            }
        }
    }

    private func parseFull(top: JSONObject, registry: JSONValue) throws(RegistryDocumentError) -> RegistryDocument {
        var collector = Collector()
        switch registry {
        case .object(let members):
            for member in members {
                if let entry = entry(named: member.key, member.value, into: &collector) { collector.entries[entry.name] = entry }
            }
        case .array(let elements):
            for (position, element) in elements.enumerated() {
                let object = element.objectValue
                let name = Self.string(object?["name"]) ?? Self.string(object?["package"]) ?? Self.string(object?["npm"]?["repo"])
                guard let name else {
                    collector.skip("#\(position)", "no name")
                    continue
                }
                if let entry = entry(named: name, element, into: &collector) { collector.entries[entry.name] = entry }
            }
        default:
            throw RegistryDocumentError("registry is \(registry.kindName), not an object")
        }
        var warnings: [String] = []
        if let declared = top["counts"]?["total"]?.intValue, declared != collector.entries.count + collector.skipped {
            warnings.append("counts.total says \(declared) but the registry holds \(collector.entries.count + collector.skipped) entries")
        }
        let schema = Self.string(top["schemaVersion"]) ?? top["schemaVersion"]?.numberLiteral
        return RegistryDocument(
            format: .full, entries: collector.sortedEntries, skipped: collector.skipped, skippedReasons: collector.reasons,
            lastUpdatedAt: Self.string(top["lastUpdatedAt"]), schemaVersion: schema, warnings: warnings)
    }

    private func parseIndex(_ top: JSONObject) -> RegistryDocument {
        var collector = Collector()
        for member in top {
            let name = member.key.trimmingASCIIWhitespace()
            guard Self.isPackageName(name) else {
                collector.skip(member.key, "not an npm package name")
                continue
            }
            guard let reference = Self.string(member.value) else {
                collector.skip(name, "the value is \(member.value.kindName), not \"github:owner/repo\"")
                continue
            }
            guard let repo = Self.githubRepo(reference) else {
                collector.skip(name, "\"\(reference.prefix(100))\" is not github:owner/repo")
                continue
            }
            var entry = RegistryEntry(name: name)
            entry.gitRepo = repo
            entry.repository = gitBaseURL + repo
            entry.author = Self.owner(of: repo)
            entry.kind = Self.impliedKind(name)
            collector.entries[name] = entry
        }
        return RegistryDocument(format: .index, entries: collector.sortedEntries, skipped: collector.skipped, skippedReasons: collector.reasons)
    }

    /// Fields that make an object recognisable as a registry entry.
    private static let knownFields = [
        "git", "npm", "supports", "description", "repository", "kind", "registryKind", "app", "topics", "tags", "homepage",
    ]

    private func entry(named rawName: String, _ value: JSONValue, into collector: inout Collector) -> RegistryEntry? {
        let name = rawName.trimmingASCIIWhitespace()
        guard Self.isPackageName(name) else {
            collector.skip(rawName, "not an npm package name")
            return nil
        }
        guard case .object(let object) = value else {
            collector.skip(name, "the entry is \(value.kindName), not an object")
            return nil
        }
        guard Self.knownFields.contains(where: { object.contains($0) }) else {
            collector.skip(name, "none of the fields of a registry entry")
            return nil
        }
        var entry = RegistryEntry(name: name)

        // Where the code lives.
        let git = object["git"]?.objectValue
        let repoText = Self.string(git?["repo"]) ?? Self.string(object["repository"]) ?? Self.string(object["repository"]?["url"])
        if let repoText, let repo = Self.githubRepo(repoText) {
            entry.gitRepo = repo
            entry.repository = gitBaseURL + repo
        }
        if let directoryValue = object["directory"], !directoryValue.isNull {
            guard let text = Self.string(directoryValue), let directory = Self.safeDirectory(text) else {
                collector.skip(name, "directory is not a relative path inside the repository")
                return nil
            }
            entry.directory = directory
        }

        // Channels, from npm, git and supports alike.
        entry.channels = channels(npm: object["npm"]?.objectValue, git: git, supports: object["supports"]?.objectValue)
        if entry.channels.allSatisfy({ $0.npmVersion == nil }), let version = Self.version(object["version"]) {
            entry.channels.append(RegistryChannel(name: "latest", npmVersion: version))
        }
        if let package = Self.string(object["npm"]?["repo"]) ?? Self.string(object["npm"]?["package"]), Self.isPackageName(package) {
            entry.npmPackage = package
        }
        if let selected = channel.select(from: entry.channels, core: coreVersion) {
            entry.version = selected.version
            entry.versionChannel = selected.channel
            let range = entry.channel(selected.channel)?.coreRange
            entry.compatible = CoreCompatibility.check(range, core: coreVersion)
            if entry.compatible == false, let range { entry.compatibility = CoreCompatibility.needs(range) }
        }

        // What people read.
        let app = object["app"]?.objectValue.map(JSONValue.object)
        entry.app = app
        if let displayName = Self.string(app?["displayName"]) ?? Self.string(object["displayName"]) {
            entry.displayName = String(displayName.prefix(200))
        }
        if let description = Self.string(object["description"]) { entry.description = String(description.prefix(4000)) }
        if let homepage = Self.string(object["homepage"]), homepage.hasPrefix("https://") || homepage.hasPrefix("http://") {
            entry.homepage = homepage
        }
        entry.tags = Self.tags(object["topics"], object["tags"])
        entry.stars = Self.count(object["stargazers_count"]) ?? Self.count(object["stars"]) ?? 0
        entry.language = Self.string(object["language"]).map { String($0.prefix(64)) }
        entry.kind = Self.word(object["kind"]) ?? Self.word(object["registryKind"]) ?? (app != nil ? "app" : Self.impliedKind(name))
        entry.origin = Self.word(object["origin"])
        entry.support = Self.word(object["support"])
        let author = Self.string(object["author"]) ?? Self.string(object["author"]?["name"])
        entry.author = author.map { String($0.prefix(200)) } ?? entry.gitRepo.map(Self.owner(of:)) ?? Self.scope(of: name)
        return entry
    }

    private func channels(npm: JSONObject?, git: JSONObject?, supports: JSONObject?) -> [RegistryChannel] {
        var byName: [String: RegistryChannel] = [:]
        func update(_ name: String, _ change: (inout RegistryChannel) -> Void) {
            guard Self.isChannelName(name) else { return }
            var channel = byName[name] ?? RegistryChannel(name: name)
            change(&channel)
            byName[name] = channel
        }
        for member in npm ?? JSONObject() {
            let key = member.key
            if ["repo", "package", "name"].contains(key) { continue }
            if key.hasSuffix("CoreRange") {
                let name = String(key.dropLast("CoreRange".count))
                if let range = Self.string(member.value) { update(name) { $0.coreRange = String(range.prefix(100)) } }
                continue
            }
            switch member.value {
            case .null: update(key) { _ in }
            case .string:
                if let version = Self.version(member.value) { update(key) { $0.npmVersion = version } }
            default: continue
            }
        }
        for member in git ?? JSONObject() where member.key != "repo" {
            guard case .object(let details) = member.value else { continue }
            update(member.key) { channel in
                channel.gitVersion = Self.version(details["version"])
                channel.gitBranch = Self.string(details["branch"]).flatMap { Self.isBranchName($0) ? $0 : nil }
            }
        }
        for member in supports ?? JSONObject() {
            guard let flag = member.value.boolValue else { continue }
            update(member.key) { $0.supported = flag }
        }
        return byName.values.sorted { RegistryChannel.precedes($0.name, $1.name) }
    }

    // MARK: Field readers

    /// A non-empty string after trimming, else nil (null, a number, an object… all count as missing).
    static func string(_ value: JSONValue?) -> String? {
        guard case .string(let text)? = value else { return nil }
        let trimmed = text.trimmingASCIIWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// A version string: no spaces or control characters, at most 64 bytes.
    static func version(_ value: JSONValue?) -> String? {
        guard let text = string(value), text.utf8.count <= 64, text.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        return text
    }

    /// A short lowercase word (`plugin`, `third-party`), else nil.
    static func word(_ value: JSONValue?) -> String? {
        guard let text = string(value)?.lowercased(), text.utf8.count <= 32,
            text.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { return nil }
        return text
    }

    /// A non-negative whole number (a fractional one is rounded down), else nil.
    static func count(_ value: JSONValue?) -> Int? {
        guard let value else { return nil }
        if let int = value.intValue { return max(0, min(int, Int(Int32.max))) }
        if let double = value.doubleValue, double.isFinite { return Int(max(0, min(double.rounded(.down), Double(Int32.max)))) }
        return nil
    }

    static func tags(_ values: JSONValue?...) -> [String] {
        var seen: Set<String> = []
        var tags: [String] = []
        for value in values {
            for element in value?.arrayValue ?? [] {
                guard let tag = string(element), tag.count <= 64, tags.count < 64, seen.insert(tag.lowercased()).inserted else { continue }
                tags.append(tag)
            }
        }
        return tags
    }

    /// npm's rules, except that capitals are allowed (legacy names such as `@elizaos/plugin-ATTPs`).
    static func isPackageName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...214).contains(bytes.count) else { return false }
        func isNameByte(_ b: UInt8) -> Bool {
            b.isASCIIAlphanumeric || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
        }
        func isPart(_ part: ArraySlice<UInt8>) -> Bool {
            guard let first = part.first, first != UInt8(ascii: "."), first != UInt8(ascii: "_") else { return false }
            return part.allSatisfy(isNameByte)
        }
        if bytes[0] == UInt8(ascii: "@") {
            guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return false }
            return isPart(bytes[1..<slash]) && isPart(bytes[(slash + 1)...])
        }
        return isPart(bytes[...])
    }

    static func isChannelName(_ name: String) -> Bool {
        // The answer's `git` object has members of its own beside one per channel: a channel of such a name would be
        // written into it twice (and read back as the wrong one).
        guard !RegistryGit.ownMembers.contains(name) else { return false }
        if case .named = ChannelPolicy(name) { return true }
        return false
    }

    static func isBranchName(_ name: String) -> Bool {
        name.utf8.count <= 200 && !name.hasPrefix("-") && !name.contains("..")
            && name.utf8.allSatisfy { $0.isASCIIAlphanumeric || "._/-".utf8.contains($0) }
    }

    /// `owner/repo` from `github:owner/repo`, a GitHub URL (https, git+https, ssh) or `owner/repo` itself.
    static func githubRepo(_ text: String) -> String? {
        var rest = Substring(text.trimmingASCIIWhitespace())
        for prefix in ["github:", "git+"] where rest.hasPrefix(prefix) { rest = rest.dropFirst(prefix.count) }
        for prefix in ["https://github.com/", "http://github.com/", "ssh://git@github.com/", "git://github.com/", "git@github.com:"]
        where rest.lowercased().hasPrefix(prefix) {
            rest = rest.dropFirst(prefix.count)
            break
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 2, parts[2] == "tree" || parts[2] == "blob" { parts = Array(parts[0..<2]) }
        if parts.count == 3, parts[2].isEmpty { parts.removeLast() }
        guard parts.count == 2 else { return nil }
        var repo = parts[1]
        if repo.hasSuffix(".git") { repo = repo.dropLast(4) }
        let owner = parts[0]
        func isPart(_ part: Substring) -> Bool {
            !part.isEmpty && part.utf8.count <= 100 && part != "." && part != ".."
                && part.utf8.allSatisfy { $0.isASCIIAlphanumeric || "._-".utf8.contains($0) }
        }
        guard isPart(owner), isPart(repo) else { return nil }
        return "\(owner)/\(repo)"
    }

    /// A relative path of plain segments (no `..`, no leading `/`), without a trailing slash; nil when unsafe.
    static func safeDirectory(_ text: String) -> String? {
        var path = Substring(text)
        while path.hasSuffix("/") { path = path.dropLast() }
        guard !path.isEmpty, path.utf8.count <= 300, !path.hasPrefix("/") else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments {
            guard !segment.isEmpty, segment != ".", segment != "..",
                segment.utf8.allSatisfy({ $0.isASCIIAlphanumeric || "._-".utf8.contains($0) })
            else { return nil }
        }
        return String(path)
    }

    static func owner(of repo: String) -> String { String(repo.prefix { $0 != "/" }) }

    static func scope(of name: String) -> String? {
        guard name.hasPrefix("@"), let slash = name.firstIndex(of: "/") else { return nil }
        return String(name[name.index(after: name.startIndex)..<slash])
    }

    /// Apps are named `…/app-<x>` by convention; everything else is a plugin unless upstream says otherwise.
    static func impliedKind(_ name: String) -> String {
        let short = name.hasPrefix("@") ? name.drop { $0 != "/" }.dropFirst() : Substring(name)
        return short.hasPrefix("app-") ? "app" : "plugin"
    }
}
