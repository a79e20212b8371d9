/// One `<op><version>` test of a range; `version == nil` is node-semver's `ANY` (the empty comparator).
public struct Comparator: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable {
        case lessThan = "<"
        case lessThanOrEqual = "<="
        case greaterThan = ">"
        case greaterThanOrEqual = ">="
        case equal = ""
    }

    public let op: Operator
    public let version: Version?

    public init(op: Operator, version: Version?) {
        self.op = op
        self.version = version
    }

    /// node-semver's `value`: `>=1.2.3`, `1.2.3` for equality, `""` for any.
    public var description: String {
        guard let version else { return "" }
        return op.rawValue + version.description
    }

    /// Whether `candidate` passes this one comparator (no pre-release rule; that is the range's job).
    public func test(_ candidate: Version) -> Bool {
        guard let version else { return true }
        let order = candidate.compare(to: version)
        switch op {
        case .lessThan: return order < 0
        case .lessThanOrEqual: return order <= 0
        case .greaterThan: return order > 0
        case .greaterThanOrEqual: return order >= 0
        case .equal: return order == 0
        }
    }

    var isNullSet: Bool {
        description == "<0.0.0-0"
    }

    var isAny: Bool {
        version == nil
    }
}

/// An npm version range (node-semver 7's `Range`): `||` alternatives of space-separated (ANDed) comparators,
/// desugared from hyphen ranges, X-ranges, tildes and carets exactly as node-semver does.
///
/// Ranges are parsed in node-semver's default (strict) grammar unless `loose` (npm's own choice, used by
/// `VersionPicker`); `includePrerelease` is node-semver's option of the same name and changes the desugaring.
public struct VersionRange: Sendable, Hashable, CustomStringConvertible {
    /// The input, trimmed and with whitespace runs collapsed (node-semver's `raw`).
    public let raw: String
    /// Alternatives (`||`), each a list of comparators that must all pass.
    public let comparatorSets: [[Comparator]]
    public let loose: Bool
    public let includePrerelease: Bool
    /// Loose mode silently drops comparators it cannot read (`1.2.3 foo` is `1.2.3`); this counts them.
    public let droppedComparators: Int

    /// node-semver's normalized `range`: `^1.2.3` is `>=1.2.3 <2.0.0-0`, any is `""`.
    public var description: String {
        comparatorSets.map { set in set.map(\.description).joined(separator: " ").trimmedSpaces }
            .joined(separator: "||").trimmedSpaces
    }

    /// Parses `text`; throws `SemVerError.invalidRange` (or `.tooLong` beyond 256 UTF-16 units, a limit node-semver
    /// applies only to versions).
    public init(_ text: String, loose: Bool = false, includePrerelease: Bool = false) throws(SemVerError) {
        if text.utf16.count > Version.maxLength { throw .tooLong(Version.maxLength) }
        var parser = RangeParser(loose: loose, includePrerelease: includePrerelease)
        let raw = JSText.splitWhitespace(JSText.trim(text)).joined(separator: " ")
        var sets = try JSText.split(raw, on: "||").map { part throws(SemVerError) in try parser.parseRange(JSText.trim(part)) }
        let emptySets = sets.count { $0.isEmpty }
        sets.removeAll { $0.isEmpty }
        guard !sets.isEmpty else { throw .invalidRange(text) }
        if sets.count > 1 {
            let first = sets[0]
            sets.removeAll { $0[0].isNullSet }
            if sets.isEmpty {
                sets = [first]
            } else if sets.count > 1, let any = sets.first(where: { $0.count == 1 && $0[0].isAny }) {
                sets = [any]
            }
        }
        self.raw = raw
        self.comparatorSets = sets
        self.loose = loose
        self.includePrerelease = includePrerelease
        self.droppedComparators = parser.dropped + emptySets
    }

    /// Whether `version` is in the range, with npm's pre-release rule: unless `includePrerelease`, a pre-release
    /// passes only if a comparator of the same set names a pre-release of the same `major.minor.patch`.
    public func isSatisfied(by version: Version) -> Bool {
        comparatorSets.contains { set in Self.test(set, version, includePrerelease: includePrerelease) }
    }

    /// Parses `version` in the range's grammar; text that is not a version satisfies nothing.
    public func isSatisfied(by version: String) -> Bool {
        guard let parsed = Version(version, loose: loose) else { return false }
        return isSatisfied(by: parsed)
    }

    /// The highest of `versions` in the range (node-semver's `maxSatisfying`).
    public func maxSatisfying<S: Sequence>(_ versions: S) -> Version? where S.Element == Version {
        versions.filter(isSatisfied(by:)).max()
    }

    private static func test(_ set: [Comparator], _ version: Version, includePrerelease: Bool) -> Bool {
        guard set.allSatisfy({ $0.test(version) }) else { return false }
        guard version.isPrerelease, !includePrerelease else { return true }
        return set.contains { comparator in
            guard let allowed = comparator.version, allowed.isPrerelease else { return false }
            return allowed.major == version.major && allowed.minor == version.minor && allowed.patch == version.patch
        }
    }
}

/// node-semver's `satisfies(version, range, options)`: false (never a throw) when either does not parse.
public func satisfies(_ version: String, _ range: String, loose: Bool = false, includePrerelease: Bool = false) -> Bool {
    guard let range = try? VersionRange(range, loose: loose, includePrerelease: includePrerelease) else { return false }
    return range.isSatisfied(by: version)
}

/// The `Range` constructor's helpers from node-semver's `classes/range.js`, one function each.
struct RangeParser {
    let loose: Bool
    let includePrerelease: Bool
    let patterns: Patterns
    var dropped = 0

    init(loose: Bool, includePrerelease: Bool) {
        self.loose = loose
        self.includePrerelease = includePrerelease
        self.patterns = Patterns.forMode(loose: loose)
    }

    mutating func parseRange(_ input: String) throws(SemVerError) -> [Comparator] {
        var range = JSReplace.first(input, patterns.hyphenRange, hyphenReplace)
        range = JSReplace.all(range, patterns.comparatorTrim) { ($0[1] ?? "") + ($0[2] ?? "") + ($0[3] ?? "") }
        range = JSReplace.all(range, patterns.tildeTrim) { ($0[1] ?? "") + "~" }
        range = JSReplace.all(range, patterns.caretTrim) { ($0[1] ?? "") + "^" }

        var list = JSText.splitWhitespace(JSText.split(range, on: " ").map(parseComparator).joined(separator: " "))
            .map(replaceGTE0)
        if loose {
            let kept = list.filter { JSReplace.matches($0, patterns.comparator) != nil }
            dropped += list.count - kept.count
            list = kept
        }
        var order: [String] = []
        var byValue: [String: Comparator] = [:]
        // All are built (and may throw) before the null-set shortcut, as in node-semver.
        let comparators = try list.map { text throws(SemVerError) in try makeComparator(text) }
        for comparator in comparators {
            if comparator.isNullSet { return [comparator] }
            if byValue.updateValue(comparator, forKey: comparator.description) == nil { order.append(comparator.description) }
        }
        if order.count > 1, byValue[""] != nil {
            order.removeAll { $0.isEmpty }
        }
        return order.map { byValue[$0]! }
    }

    /// `new Comparator(text)`.
    func makeComparator(_ text: String) throws(SemVerError) -> Comparator {
        let collapsed = JSText.splitWhitespace(JSText.trim(text)).joined(separator: " ")
        guard let groups = JSReplace.matches(collapsed, patterns.comparator) else { throw .invalidRange(text) }
        let symbol = groups[1] ?? ""
        guard let versionText = groups[2], !versionText.isEmpty else { return Comparator(op: .equal, version: nil) }
        guard let version = Version(versionText, loose: loose) else { throw .invalidRange(text) }
        let op: Comparator.Operator = switch symbol {
        case "<": .lessThan
        case "<=": .lessThanOrEqual
        case ">": .greaterThan
        case ">=": .greaterThanOrEqual
        default: .equal
        }
        return Comparator(op: op, version: version)
    }

    func parseComparator(_ comp: String) -> String {
        var result = replaceEach(JSText.trim(comp), replaceCaret)
        result = replaceEach(JSText.trim(result), replaceTilde)
        result = replaceEach(result, replaceXRange)
        return replaceStars(result)
    }

    private func replaceEach(_ comp: String, _ transform: (String) -> String) -> String {
        JSText.splitWhitespace(comp).map(transform).joined(separator: " ")
    }

    private static func isX(_ id: String?) -> Bool {
        guard let id, !id.isEmpty else { return true }
        return id.lowercased() == "x" || id == "*"
    }

    // ~, ~> --> * ; ~2 --> >=2.0.0 <3.0.0-0 ; ~1.2 --> >=1.2.0 <1.3.0-0 ; ~1.2.3 --> >=1.2.3 <1.3.0-0
    func replaceTilde(_ comp: String) -> String {
        JSReplace.first(comp, patterns.tilde) { g in
            let (major, minor, patch, pre) = (g[1], g[2], g[3], g[4])
            if Self.isX(major) { return "" }
            let M = major!
            if Self.isX(minor) { return ">=\(M).0.0 <\(jsIncrement(M)).0.0-0" }
            let m = minor!
            if Self.isX(patch) { return ">=\(M).\(m).0 <\(M).\(jsIncrement(m)).0-0" }
            let p = patch!
            if let pre, !pre.isEmpty { return ">=\(M).\(m).\(p)-\(pre) <\(M).\(jsIncrement(m)).0-0" }
            return ">=\(M).\(m).\(p) <\(M).\(jsIncrement(m)).0-0"
        }
    }

    // ^ --> * ; ^2 --> >=2.0.0 <3.0.0-0 ; ^1.2 --> >=1.2.0 <2.0.0-0 ; ^0.1 --> >=0.1.0 <0.2.0-0 ;
    // ^1.2.3 --> >=1.2.3 <2.0.0-0 ; ^0.1.2 --> >=0.1.2 <0.2.0-0 ; ^0.0.1 --> >=0.0.1 <0.0.2-0
    func replaceCaret(_ comp: String) -> String {
        let z = includePrerelease ? "-0" : ""
        return JSReplace.first(comp, patterns.caret) { g in
            let (major, minor, patch, pre) = (g[1], g[2], g[3], g[4])
            if Self.isX(major) { return "" }
            let M = major!
            if Self.isX(minor) { return ">=\(M).0.0\(z) <\(jsIncrement(M)).0.0-0" }
            let m = minor!
            if Self.isX(patch) {
                if M == "0" { return ">=\(M).\(m).0\(z) <\(M).\(jsIncrement(m)).0-0" }
                return ">=\(M).\(m).0\(z) <\(jsIncrement(M)).0.0-0"
            }
            let p = patch!
            if let pre, !pre.isEmpty {
                if M == "0" {
                    if m == "0" { return ">=\(M).\(m).\(p)-\(pre) <\(M).\(m).\(jsIncrement(p))-0" }
                    return ">=\(M).\(m).\(p)-\(pre) <\(M).\(jsIncrement(m)).0-0"
                }
                return ">=\(M).\(m).\(p)-\(pre) <\(jsIncrement(M)).0.0-0"
            }
            if M == "0" {
                if m == "0" { return ">=\(M).\(m).\(p)\(z) <\(M).\(m).\(jsIncrement(p))-0" }
                return ">=\(M).\(m).\(p)\(z) <\(M).\(jsIncrement(m)).0-0"
            }
            return ">=\(M).\(m).\(p) <\(jsIncrement(M)).0.0-0"
        }
    }

    func replaceXRange(_ input: String) -> String {
        let comp = JSText.trim(input)
        return JSReplace.first(comp, patterns.xRange) { g in
            var gtlt = g[1] ?? ""
            let xM = Self.isX(g[2])
            let xm = xM || Self.isX(g[3])
            let xp = xm || Self.isX(g[4])
            let anyX = xp
            if gtlt == "=" && anyX { gtlt = "" }
            var pr = includePrerelease ? "-0" : ""
            if xM {
                return gtlt == ">" || gtlt == "<" ? "<0.0.0-0" : "*"
            }
            let M = g[2]!
            if !gtlt.isEmpty && anyX {
                var major = M
                var minor = xm ? "0" : g[3]!
                var patch = "0"
                if gtlt == ">" {
                    gtlt = ">="
                    if xm {
                        major = jsIncrement(major)
                        minor = "0"
                    } else {
                        minor = jsIncrement(minor)
                    }
                    patch = "0"
                } else if gtlt == "<=" {
                    gtlt = "<"
                    if xm { major = jsIncrement(major) } else { minor = jsIncrement(minor) }
                }
                if gtlt == "<" { pr = "-0" }
                return "\(gtlt)\(major).\(minor).\(patch)\(pr)"
            }
            if xm { return ">=\(M).0.0\(pr) <\(jsIncrement(M)).0.0-0" }
            if xp { return ">=\(M).\(g[3]!).0\(pr) <\(M).\(jsIncrement(g[3]!)).0-0" }
            return g[0]!
        }
    }

    func replaceStars(_ comp: String) -> String {
        JSReplace.first(JSText.trim(comp), patterns.star) { _ in "" }
    }

    func replaceGTE0(_ comp: String) -> String {
        JSReplace.first(JSText.trim(comp), includePrerelease ? patterns.gte0Pre : patterns.gte0) { _ in "" }
    }

    // 1.2 - 3.4.5 => >=1.2.0 <=3.4.5 ; 1.2.3 - 3.4 => >=1.2.3 <3.5.0-0 ; 1.2 - 3.4 => >=1.2.0 <3.5.0-0
    func hyphenReplace(_ g: JSReplace.Groups) -> String {
        let incPr = includePrerelease
        var from = g[1] ?? ""
        let (fM, fm, fp, fpr) = (g[2], g[3], g[4], g[5])
        var to = g[7] ?? ""
        let (tM, tm, tp, tpr) = (g[8], g[9], g[10], g[11])
        if Self.isX(fM) {
            from = ""
        } else if Self.isX(fm) {
            from = ">=\(fM!).0.0\(incPr ? "-0" : "")"
        } else if Self.isX(fp) {
            from = ">=\(fM!).\(fm!).0\(incPr ? "-0" : "")"
        } else if let fpr, !fpr.isEmpty {
            from = ">=\(from)"
        } else {
            from = ">=\(from)\(incPr ? "-0" : "")"
        }
        if Self.isX(tM) {
            to = ""
        } else if Self.isX(tm) {
            to = "<\(jsIncrement(tM!)).0.0-0"
        } else if Self.isX(tp) {
            to = "<\(tM!).\(jsIncrement(tm!)).0-0"
        } else if let tpr, !tpr.isEmpty {
            to = "<=\(tM!).\(tm!).\(tp!)-\(tpr)"
        } else if incPr {
            to = "<\(tM!).\(tm!).\(jsIncrement(tp!))-0"
        } else {
            to = "<=\(to)"
        }
        return "\(from) \(to)".trimmedSpaces
    }
}

/// JavaScript's `String(+digits + 1)`: exact below 2^53, then a double printed the way JavaScript prints it
/// (`1e+21` from 21 digits on), so absurdly large parts fail exactly where node-semver's do.
func jsIncrement(_ digits: String) -> String {
    if let value = Int(digits), value < (1 << 53) - 1 { return String(value + 1) }
    guard let number = Double(digits) else { return digits }
    return jsNumberString(number + 1)
}

func jsNumberString(_ value: Double) -> String {
    if value < 9_007_199_254_740_992, value == value.rounded() { return String(Int64(value)) }
    // Swift prints the shortest round-tripping digits too; only the layout differs.
    let text = value.description
    var mantissa = Substring(text)
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = text[..<e]
        exponent = Int(String(text[text.index(after: e)...].filter { $0 != "+" })) ?? 0
    }
    let pointOffset = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
    var digitString = mantissa.filter { $0 != "." }
    while digitString.count > 1, digitString.last == "0" { digitString.removeLast() }
    let leadingZeros = digitString.prefix { $0 == "0" }.count
    digitString.removeFirst(min(leadingZeros, digitString.count - 1))
    let n = pointOffset + exponent - leadingZeros
    let k = digitString.count
    if k <= n, n <= 21 { return digitString + String(repeating: "0", count: n - k) }
    let rest = digitString.dropFirst()
    return String(digitString.first!) + (rest.isEmpty ? "" : "." + rest) + "e+\(n - 1)"
}

extension String {
    /// JavaScript's `trim()`.
    var trimmedSpaces: String {
        JSText.trim(self)
    }
}
