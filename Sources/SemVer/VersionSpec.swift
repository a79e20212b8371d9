/// What a user asked for in `version`: an exact version, a range or a dist-tag (npm-package-arg's
/// `version` / `range` / `tag` registry specs).
public enum VersionSpec: Sendable, Hashable, CustomStringConvertible {
    case version(Version)
    case range(VersionRange)
    case tag(String)

    /// Longer input is refused before any parsing.
    public static let maxLength = 256

    /// Classifies `input` the way npm-package-arg does (node-semver's loose grammar, like npm): a valid version,
    /// else a valid range, else a dist-tag. Throws for anything else (the API's `400`).
    ///
    /// Stricter than npm in three places: a range from which loose parsing would silently drop a comparator
    /// (`^1.0.0 foo`, which npm reads as `^1.0.0`) is refused; a tag must not start with `v` and a digit
    /// (`v1beta` is a mistyped version, not a tag); input is limited to 256 characters.
    public init(_ input: String) throws(SemVerError) {
        if input.utf16.count > Self.maxLength { throw .tooLong(Self.maxLength) }
        let spec = JSText.trim(input)
        if let version = Version(spec, loose: true) {
            self = .version(version)
            return
        }
        if let range = try? VersionRange(spec, loose: true), range.droppedComparators == 0 {
            self = .range(range)
            return
        }
        guard Self.isValidTag(spec) else { throw .invalidSpec(input) }
        self = .tag(spec)
    }

    /// npm's rule for dist-tag names (npm-package-arg: nothing `encodeURIComponent` would encode, not read as a
    /// directory (leading `.`) or a tarball (`.tgz`, `.tar`, `.tar.gz`); `npm dist-tag`: not a valid range), plus: not
    /// empty and no leading `v` followed by a digit.
    public static func isValidTag(_ tag: String) -> Bool {
        guard !tag.isEmpty, tag.utf16.count <= maxLength, tag.unicodeScalars.allSatisfy(isURIComponentSafe) else { return false }
        let scalars = Array(tag.unicodeScalars)
        if scalars.count >= 2, scalars[0] == "v", ("0"..."9").contains(scalars[1]) { return false }
        // npm-package-arg reads these as a directory or a tarball file, not as a tag.
        if tag.hasPrefix(".") { return false }
        let lowered = tag.lowercased()
        if [".tgz", ".tar", ".tar.gz"].contains(where: lowered.hasSuffix) { return false }
        return (try? VersionRange(tag, loose: true)) == nil
    }

    /// The characters `encodeURIComponent` leaves alone.
    static func isURIComponentSafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "!", "~", "*", "'", "(", ")": true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .version(let version): version.fullDescription
        case .range(let range): range.raw
        case .tag(let tag): tag
        }
    }
}

/// npm's choice of a version from a packument (npm-pick-manifest 9, as `npm install` uses it).
///
/// Not modelled: `--before`, staged and policy-restricted versions, `avoid`, and the `engines` preference
/// (npm prefers versions whose `engines` accept the running node and npm; plugind does not know the agent's).
public enum VersionPicker {
    /// The packument key npm would install for `spec`, or nil (npm's `ETARGET`).
    ///
    /// - `nil` spec (or an empty range, or `*`): `dist-tags[defaultTag]` if published and not deprecated — even
    ///   when it is a pre-release — else the highest non-pre-release version.
    /// - a tag: exactly `dist-tags[tag]` if that version is published (deprecated or not).
    /// - a version: exactly that version (normalized, build metadata dropped) if published.
    /// - a range: `dist-tags[defaultTag]` if it satisfies the range and is not deprecated; else the highest
    ///   satisfying version, non-deprecated ones first.
    ///
    /// `versions` are the packument's `versions` keys in document order (ties in precedence keep that order).
    /// `deprecated` holds the versions whose manifest has a non-empty `deprecated` string (npm tests it for
    /// truthiness, so `"deprecated": ""` — an un-deprecation — does not count).
    public static func pick(
        _ spec: VersionSpec?,
        versions: [String],
        distTags: [String: String],
        deprecated: Set<String> = [],
        defaultTag: String = "latest"
    ) -> String? {
        let published = Set(versions)
        let range: VersionRange
        let isStar: Bool
        switch spec {
        case .tag(let tag)?:
            guard let version = distTags[tag], published.contains(version) else { return nil }
            return version
        case .version(let version)?:
            let key = version.description
            return published.contains(key) ? key : nil
        case .range(let wanted)?:
            isStar = wanted.raw == "*" || wanted.raw.isEmpty
            if isStar {
                range = starRange
            } else if wanted.loose && !wanted.includePrerelease {
                range = wanted
            } else if let reparsed = try? VersionRange(wanted.raw, loose: true) {
                range = reparsed
            } else {
                return nil
            }
        case nil:
            isStar = true
            range = starRange
        }

        if let preferred = distTags[defaultTag], published.contains(preferred), !deprecated.contains(preferred),
           isStar || range.isSatisfied(by: preferred) {
            return preferred
        }
        let candidates = versions.enumerated().compactMap { index, key -> (index: Int, key: String, version: Version)? in
            guard let version = Version(key, loose: true), range.isSatisfied(by: version) else { return nil }
            return (index, key, version)
        }
        let best = candidates.min { a, b in
            let aDeprecated = deprecated.contains(a.key), bDeprecated = deprecated.contains(b.key)
            if aDeprecated != bDeprecated { return !aDeprecated }
            let order = a.version.compare(to: b.version)
            if order != 0 { return order > 0 }
            return a.index < b.index
        }
        return best?.key
    }

    /// Classifies `wanted` (nil or absent: the default tag's rules) and picks.
    public static func pick(
        wanted: String?,
        versions: [String],
        distTags: [String: String],
        deprecated: Set<String> = [],
        defaultTag: String = "latest"
    ) throws(SemVerError) -> String? {
        let spec = try wanted.map { text throws(SemVerError) in try VersionSpec(text) }
        return pick(spec, versions: versions, distTags: distTags, deprecated: deprecated, defaultTag: defaultTag)
    }

    // The star range parses; a failure here would be a bug caught by every test.
    // swiftlint:disable:next force_try
    private static let starRange = try! VersionRange("*", loose: true)
}
