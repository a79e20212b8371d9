/// node-semver 7's regular expressions (`internal/re.js`, the "safe" variants), transcribed token by token.
///
/// Range parsing reproduces node-semver's pipeline of regex replacements literally, so its corner cases
/// (whitespace inside comparators, `>=*`, hyphen ranges with partial versions, loose mode) come out the same.
/// Differences from JavaScript are neutralised: `\d` is written `[0-9]` (ASCII, like JavaScript) and `\s` is
/// a plain space, because the range text has had every JavaScript whitespace run collapsed to one space first.
/// Matching is on Unicode scalars, not grapheme clusters.
///
/// `@unchecked Sendable`: a `Regex` is an immutable value; the only state it mutates is its lazily compiled
/// program, which the standard library publishes atomically (`Regex.Program.loweredProgram`), so one compiled
/// instance may be used from any thread. `AnyRegexOutput` alone keeps the compiler from proving it. Building the
/// expressions costs milliseconds, hence the two shared instances.
struct Patterns: @unchecked Sendable {
    let hyphenRange: Regex<AnyRegexOutput>
    let comparatorTrim: Regex<AnyRegexOutput>
    let tildeTrim: Regex<AnyRegexOutput>
    let caretTrim: Regex<AnyRegexOutput>
    let tilde: Regex<AnyRegexOutput>
    let caret: Regex<AnyRegexOutput>
    let xRange: Regex<AnyRegexOutput>
    let comparator: Regex<AnyRegexOutput>
    let star: Regex<AnyRegexOutput>
    let gte0: Regex<AnyRegexOutput>
    let gte0Pre: Regex<AnyRegexOutput>

    static let strict = Patterns(loose: false)
    static let loose = Patterns(loose: true)

    static func forMode(loose: Bool) -> Patterns {
        loose ? Self.loose : Self.strict
    }

    private init(loose: Bool) {
        let maxLength = 256
        let maxBuildLength = maxLength - 6
        let s = " "
        let d = "[0-9]"
        let letterDashNumber = "[a-zA-Z0-9\\-]"

        let numericIdentifier = "0|[1-9]\(d){0,\(maxLength)}"
        let numericIdentifierLoose = "\(d){1,\(maxLength)}"
        let nonNumericIdentifier = "\(d){0,\(maxLength)}[a-zA-Z\\-]\(letterDashNumber){0,\(maxBuildLength)}"
        let mainVersion = "(\(numericIdentifier))\\.(\(numericIdentifier))\\.(\(numericIdentifier))"
        let mainVersionLoose = "(\(numericIdentifierLoose))\\.(\(numericIdentifierLoose))\\.(\(numericIdentifierLoose))"
        let prereleaseIdentifier = "(?:\(numericIdentifier)|\(nonNumericIdentifier))"
        let prereleaseIdentifierLoose = "(?:\(numericIdentifierLoose)|\(nonNumericIdentifier))"
        let prerelease = "(?:-(\(prereleaseIdentifier)(?:\\.\(prereleaseIdentifier))*))"
        let prereleaseLoose = "(?:-?(\(prereleaseIdentifierLoose)(?:\\.\(prereleaseIdentifierLoose))*))"
        let buildIdentifier = "\(letterDashNumber){1,\(maxBuildLength)}"
        let build = "(?:\\+(\(buildIdentifier)(?:\\.\(buildIdentifier))*))"
        let fullPlain = "v?\(mainVersion)\(prerelease)?\(build)?"
        let loosePlain = "[v=\(s)]*\(mainVersionLoose)\(prereleaseLoose)?\(build)?"
        let gtlt = "((?:<|>)?=?)"
        let xRangeIdentifierLoose = "\(numericIdentifierLoose)|x|X|\\*"
        let xRangeIdentifier = "\(numericIdentifier)|x|X|\\*"
        let xRangePlain = "[v=\(s)]*(\(xRangeIdentifier))(?:\\.(\(xRangeIdentifier))(?:\\.(\(xRangeIdentifier))(?:\(prerelease))?\(build)?)?)?"
        let xRangePlainLoose =
            "[v=\(s)]*(\(xRangeIdentifierLoose))(?:\\.(\(xRangeIdentifierLoose))(?:\\.(\(xRangeIdentifierLoose))(?:\(prereleaseLoose))?\(build)?)?)?"
        let plain = loose ? xRangePlainLoose : xRangePlain
        let loneTilde = "(?:~>?)"
        let loneCaret = "(?:\\^)"
        // `\s*` and `\s+` become `\s{0,1}` and `\s{1,1}` in node-semver's safe expressions.
        let ws0 = "\(s){0,1}"
        let ws1 = "\(s){1,1}"

        func make(_ pattern: String) -> Regex<AnyRegexOutput> {
            // The patterns are constants; a failure here is a programming error caught by every test.
            // swiftlint:disable:next force_try
            try! Regex(pattern).matchingSemantics(.unicodeScalar)
        }

        hyphenRange = make("^\(ws0)(\(plain))\(ws1)-\(ws1)(\(plain))\(ws0)$")
        comparatorTrim = make("(\(ws0))\(gtlt)\(ws0)(\(loosePlain)|\(xRangePlain))")
        tildeTrim = make("(\(ws0))\(loneTilde)\(ws1)")
        caretTrim = make("(\(ws0))\(loneCaret)\(ws1)")
        tilde = make("^\(loneTilde)\(plain)$")
        caret = make("^\(loneCaret)\(plain)$")
        xRange = make("^\(gtlt)\(ws0)\(plain)$")
        comparator = make(loose ? "^\(gtlt)\(ws0)(\(loosePlain))$|^$" : "^\(gtlt)\(ws0)(\(fullPlain))$|^$")
        star = make("(<|>)?=?\(ws0)\\*")
        gte0 = make("^\(ws0)>=\(ws0)0\\.0\\.0\(ws0)$")
        gte0Pre = make("^\(ws0)>=\(ws0)0\\.0\\.0-0\(ws0)$")
    }
}

/// JavaScript's `String.prototype.replace` over Swift regular expressions.
enum JSReplace {
    typealias Groups = [String?]

    /// The first match replaced (a non-global JavaScript regex). `groups[0]` is the whole match.
    static func first(_ text: String, _ regex: Regex<AnyRegexOutput>, _ replacement: (Groups) -> String) -> String {
        guard let match = try? regex.firstMatch(in: text) else { return text }
        return String(text[..<match.range.lowerBound]) + replacement(groups(match)) + String(text[match.range.upperBound...])
    }

    /// Every non-overlapping match replaced (a global JavaScript regex; none of ours can match the empty string).
    static func all(_ text: String, _ regex: Regex<AnyRegexOutput>, _ replacement: (Groups) -> String) -> String {
        var result = ""
        var cursor = text.startIndex
        for match in text.matches(of: regex) {
            result += text[cursor..<match.range.lowerBound]
            result += replacement(groups(match))
            cursor = match.range.upperBound
        }
        result += text[cursor...]
        return result
    }

    static func matches(_ text: String, _ regex: Regex<AnyRegexOutput>) -> Groups? {
        guard let match = try? regex.firstMatch(in: text) else { return nil }
        return groups(match)
    }

    private static func groups(_ match: Regex<AnyRegexOutput>.Match) -> Groups {
        match.output.map { $0.substring.map(String.init) }
    }
}
