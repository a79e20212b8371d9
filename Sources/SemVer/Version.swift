/// A semantic version as npm understands it (SemVer 2.0.0, node-semver 7's parser).
///
/// `Version("1.2.3-beta.1+build")` parses node-semver's default (strict) grammar: an optional leading `v`,
/// three numeric parts without leading zeros, dot-separated pre-release identifiers, build metadata.
/// `loose: true` is node-semver's loose grammar, the one npm itself uses for packument keys and specs
/// (npm-pick-manifest, npm-package-arg): any run of `v`, `=` and spaces in front, leading zeros,
/// a pre-release without its hyphen (`1.2.3beta`).
///
/// Equality, hashing and ordering are precedence: build metadata is kept in `build` but ignored,
/// so `1.2.3+a == 1.2.3+b`.
public struct Version: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    /// Pre-release identifiers as node-semver formats them (numeric ones below 2^53-1 without leading zeros).
    public let prerelease: [String]
    /// Build metadata identifiers; never part of precedence.
    public let build: [String]

    /// Versions and ranges longer than this (in UTF-16 units, like node-semver's `MAX_LENGTH`) are refused.
    public static let maxLength = 256
    /// `Number.MAX_SAFE_INTEGER`, the largest numeric part node-semver accepts.
    public static let maxSafeInteger = 9_007_199_254_740_991

    /// Parses `text`; nil when it is not a version in the chosen grammar.
    public init?(_ text: String, loose: Bool = false) {
        guard let parsed = VersionParser.parse(text, loose: loose) else { return nil }
        self = parsed
    }

    /// Parses `text`, throwing `SemVerError.invalidVersion` or `.tooLong`.
    public static func parse(_ text: String, loose: Bool = false) throws(SemVerError) -> Version {
        if text.utf16.count > maxLength { throw .tooLong(maxLength) }
        guard let version = VersionParser.parse(text, loose: loose) else { throw .invalidVersion(text) }
        return version
    }

    /// node-semver's `clean`: trims, drops leading `=`/`v`, and returns the normalized text (no build metadata).
    public static func clean(_ text: String, loose: Bool = false) -> String? {
        let trimmed = JSText.trim(text)
        let stripped = trimmed.drop { $0 == "=" || $0 == "v" }
        return Version(String(stripped), loose: loose)?.description
    }

    init(major: Int, minor: Int, patch: Int, prerelease: [String], build: [String]) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    public var isPrerelease: Bool {
        !prerelease.isEmpty
    }

    /// `major.minor.patch[-prerelease]`, node-semver's `version` property (no build metadata).
    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.joined(separator: ".") }
        return text
    }

    /// The same text with `+build` when there is build metadata.
    public var fullDescription: String {
        build.isEmpty ? description : description + "+" + build.joined(separator: ".")
    }

    // MARK: - Precedence

    /// -1, 0 or 1, like node-semver's `compare`.
    public func compare(to other: Version) -> Int {
        if major != other.major { return major < other.major ? -1 : 1 }
        if minor != other.minor { return minor < other.minor ? -1 : 1 }
        if patch != other.patch { return patch < other.patch ? -1 : 1 }
        switch (prerelease.isEmpty, other.prerelease.isEmpty) {
        case (true, true): return 0
        case (false, true): return -1
        case (true, false): return 1
        case (false, false): break
        }
        var index = 0
        while true {
            let left = index < prerelease.count ? prerelease[index] : nil
            let right = index < other.prerelease.count ? other.prerelease[index] : nil
            switch (left, right) {
            case (nil, nil): return 0
            case (_, nil): return 1
            case (nil, _): return -1
            case let (left?, right?):
                let order = Self.compareIdentifiers(left, right)
                if order != 0 { return order }
            }
            index += 1
        }
    }

    public static func < (lhs: Version, rhs: Version) -> Bool {
        lhs.compare(to: rhs) < 0
    }

    public static func == (lhs: Version, rhs: Version) -> Bool {
        lhs.compare(to: rhs) == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        for identifier in prerelease {
            hasher.combine(Self.isNumeric(identifier) ? String(Self.withoutLeadingZeros(identifier)) : identifier)
        }
    }

    /// SemVer 2.0.0 §11: numeric identifiers compare numerically (exactly, at any length) and below alphanumeric
    /// ones; alphanumeric identifiers compare by ASCII order.
    static func compareIdentifiers(_ left: String, _ right: String) -> Int {
        switch (isNumeric(left), isNumeric(right)) {
        case (true, true):
            let a = withoutLeadingZeros(left), b = withoutLeadingZeros(right)
            if a.utf8.count != b.utf8.count { return a.utf8.count < b.utf8.count ? -1 : 1 }
            return a == b ? 0 : (a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1)
        case (true, false): return -1
        case (false, true): return 1
        case (false, false):
            if left == right { return 0 }
            return left.utf8.lexicographicallyPrecedes(right.utf8) ? -1 : 1
        }
    }

    static func isNumeric(_ identifier: String) -> Bool {
        !identifier.isEmpty && identifier.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func withoutLeadingZeros(_ digits: String) -> Substring {
        let trimmed = digits.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : trimmed
    }
}

/// Why a version, range or spec was refused.
public enum SemVerError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLong(Int)
    case invalidVersion(String)
    case invalidRange(String)
    case invalidSpec(String)

    public var description: String {
        switch self {
        case .tooLong(let limit): "longer than \(limit) characters"
        case .invalidVersion(let text): "invalid version: \(text)"
        case .invalidRange(let text): "invalid range: \(text)"
        case .invalidSpec(let text): "not a version, a range or a dist-tag: \(text)"
        }
    }
}

/// A hand-written equivalent of node-semver's `FULL` and `LOOSE` regular expressions (it backtracks the same way).
enum VersionParser {
    static func parse(_ text: String, loose: Bool) -> Version? {
        guard text.utf16.count <= Version.maxLength else { return nil }
        var chars = Array(JSText.trim(text).utf8)
        // Anything outside ASCII after trimming can only fail (no token accepts it); LOOSE's prefix is the exception.
        var position = 0
        if loose {
            // [v=\s]* — whitespace here is JavaScript's, so decode scalars for the prefix only.
            let scalars = Array(String(decoding: chars, as: UTF8.self).unicodeScalars)
            var index = 0
            while index < scalars.count, scalars[index] == "v" || scalars[index] == "=" || JSText.isWhitespace(scalars[index]) {
                index += 1
            }
            chars = Array(String(String.UnicodeScalarView(scalars[index...])).utf8)
        } else if chars.first == UInt8(ascii: "v") {
            position = 1
        }
        func digits(from start: Int) -> Int {
            var end = start
            while end < chars.count, isDigit(chars[end]) { end += 1 }
            return end
        }
        // Major and minor: digits then a dot.
        var parts: [ArraySlice<UInt8>] = []
        for _ in 0..<2 {
            let end = digits(from: position)
            guard end > position, end < chars.count, chars[end] == UInt8(ascii: ".") else { return nil }
            parts.append(chars[position..<end])
            position = end + 1
        }
        let patchEnd = digits(from: position)
        guard patchEnd > position else { return nil }
        var candidates = [patchEnd]
        if loose, patchEnd - position >= 2 { candidates.append(patchEnd - 1) }
        if !loose {
            for part in parts + [chars[position..<patchEnd]] where part.count > 1 && part.first == UInt8(ascii: "0") {
                return nil
            }
        }
        for end in candidates {
            guard let (prerelease, build) = parseTail(chars[end...], loose: loose, patchShortened: end != patchEnd) else { continue }
            guard let major = number(parts[0]), let minor = number(parts[1]), let patch = number(chars[position..<end]) else {
                return nil
            }
            return Version(major: major, minor: minor, patch: patch, prerelease: prerelease.map(normalizedIdentifier), build: build)
        }
        return nil
    }

    /// `(?:-(PRE))?(?:\+(BUILD))?$` (strict) or `(?:-?(PRE))?(?:\+(BUILD))?$` (loose).
    private static func parseTail(_ tail: ArraySlice<UInt8>, loose: Bool, patchShortened: Bool) -> ([String], [String])? {
        if tail.isEmpty { return patchShortened ? nil : ([], []) }
        if tail.first == UInt8(ascii: "+") {
            guard !patchShortened, let build = identifiers(tail.dropFirst(), strictNumeric: false) else { return nil }
            return ([], build)
        }
        var attempts: [ArraySlice<UInt8>] = []
        if tail.first == UInt8(ascii: "-") {
            attempts.append(tail.dropFirst())
            if loose { attempts.append(tail) }
        } else if loose {
            attempts.append(tail)
        }
        for attempt in attempts {
            let plus = attempt.firstIndex(of: UInt8(ascii: "+"))
            let prePart = attempt[..<(plus ?? attempt.endIndex)]
            guard let prerelease = identifiers(prePart, strictNumeric: !loose) else { continue }
            var build: [String] = []
            if let plus {
                guard let parsed = identifiers(attempt[(plus + 1)...], strictNumeric: false) else { continue }
                build = parsed
            }
            return (prerelease, build)
        }
        return nil
    }

    /// Dot-separated non-empty `[0-9A-Za-z-]+`; with `strictNumeric`, all-digit identifiers have no leading zero.
    private static func identifiers(_ bytes: ArraySlice<UInt8>, strictNumeric: Bool) -> [String]? {
        var result: [String] = []
        for piece in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !piece.isEmpty, piece.allSatisfy(isIdentifierCharacter) else { return nil }
            if strictNumeric, piece.count > 1, piece.first == UInt8(ascii: "0"), piece.allSatisfy(isDigit) { return nil }
            result.append(String(decoding: piece, as: UTF8.self))
        }
        return result
    }

    /// node-semver turns numeric pre-release identifiers below MAX_SAFE_INTEGER into numbers (dropping leading zeros).
    private static func normalizedIdentifier(_ identifier: String) -> String {
        guard Version.isNumeric(identifier), let value = number(ArraySlice(identifier.utf8)), value < Version.maxSafeInteger else {
            return identifier
        }
        return String(value)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for digit in digits {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
            if value > Version.maxSafeInteger { return nil }
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= 0x30 && byte <= 0x39
    }

    private static func isIdentifierCharacter(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "-")
    }
}

/// JavaScript's idea of whitespace (`String.prototype.trim`, `\s`), which node-semver relies on.
enum JSText {
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: true
        default: false
        }
    }

    static func trim(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// `text.split(/\s+/)`: empty strings at the ends are kept, like JavaScript.
    static func splitWhitespace(_ text: String) -> [String] {
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var inSpace = false
        for scalar in text.unicodeScalars {
            if isWhitespace(scalar) {
                if !inSpace {
                    result.append(String(current))
                    current = String.UnicodeScalarView()
                    inSpace = true
                }
            } else {
                inSpace = false
                current.append(scalar)
            }
        }
        result.append(String(current))
        return result
    }

    /// `text.split(separator)` for a literal separator, empty pieces kept.
    static func split(_ text: String, on separator: String) -> [String] {
        text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}
