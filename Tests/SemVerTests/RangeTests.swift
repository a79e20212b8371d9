import Testing
@testable import SemVer

@Suite("VersionRange")
struct RangeTests {
    /// `satisfies` gives node-semver's answer for every case of the generated table (all grammar forms, both
    /// options, npm's pre-release rule).
    @Test(arguments: satisfiesCases)
    func satisfiesMatchesNodeSemver(_ testCase: SatisfiesCase) {
        #expect(
            satisfies(testCase.version, testCase.range, loose: testCase.loose, includePrerelease: testCase.includePrerelease)
                == testCase.expected
        )
    }

    /// The table is big enough and balanced: at least 150 cases, both answers well represented, every option used.
    @Test func tableCoverage() {
        #expect(satisfiesCases.count >= 150)
        #expect(satisfiesCases.count { $0.expected } >= 60)
        #expect(satisfiesCases.count { !$0.expected } >= 60)
        #expect(satisfiesCases.contains { $0.loose })
        #expect(satisfiesCases.contains { $0.includePrerelease })
        for marker in ["^", "~", " - ", "||", "x", "*", ">=", "<=", "<", ">", "="] {
            #expect(satisfiesCases.contains { $0.range.contains(marker) }, "no case uses \(marker)")
        }
    }

    /// Each range desugars to node-semver's normalized comparators (`Range.range`), including X-ranges with operators,
    /// carets and tildes on 0.x, partial hyphen ranges and includePrerelease's `-0` bounds.
    @Test(arguments: rangeCases)
    func normalizedFormMatchesNodeSemver(_ testCase: RangeCase) throws {
        let range = try VersionRange(testCase.range, loose: testCase.loose, includePrerelease: testCase.includePrerelease)
        #expect(range.description == testCase.normalized)
    }

    /// Ranges node-semver refuses are refused (throwing `invalidRange`), and `satisfies` answers false instead of throwing.
    @Test(arguments: invalidRanges)
    func invalidRangesAreRefused(range: String, loose: Bool) {
        #expect(throws: SemVerError.self) { try VersionRange(range, loose: loose) }
        #expect(!satisfies("1.2.3", range, loose: loose))
    }

    /// npm's pre-release rule: a pre-release passes only through a comparator of the same set naming a pre-release of
    /// the same major.minor.patch; `includePrerelease` lifts it.
    @Test func prereleaseRule() throws {
        let range = try VersionRange(">=1.2.3-beta.1 <2.0.0 || ^3.0.0-rc.1")
        #expect(range.isSatisfied(by: "1.2.3-beta.2"))
        #expect(range.isSatisfied(by: "1.2.3"))
        #expect(!range.isSatisfied(by: "1.2.4-beta.2"))
        #expect(!range.isSatisfied(by: "1.2.3-alpha"))
        #expect(range.isSatisfied(by: "3.0.0-rc.2"))
        #expect(!range.isSatisfied(by: "3.0.1-rc.1"))
        #expect(range.isSatisfied(by: "3.9.0"))
        let including = try VersionRange(">=1.2.3-beta.1 <2.0.0 || ^3.0.0-rc.1", includePrerelease: true)
        #expect(including.isSatisfied(by: "1.2.4-beta.2"))
        #expect(including.isSatisfied(by: "3.0.1-rc.1"))
        // A plain `<2.0.0` admits 2.0.0's own pre-releases; carets end at `<4.0.0-0` to exclude them.
        #expect(including.isSatisfied(by: "2.0.0-0"))
        #expect(!including.isSatisfied(by: "4.0.0-0"))
    }

    /// `*` in one alternative swallows the others (node-semver keeps only the any-set), so a pre-release named in
    /// another alternative no longer passes — a node-semver quirk npm inherits.
    @Test func starAlternativeSwallowsOthers() throws {
        let range = try VersionRange("* || 1.2.3-beta")
        #expect(range.comparatorSets.count == 1)
        #expect(!range.isSatisfied(by: "1.2.3-beta"))
        #expect(try VersionRange("1.x || 1.2.3-beta").isSatisfied(by: "1.2.3-beta"))
    }

    /// The comparator sets are exposed with typed operators; `Comparator.test` ignores the pre-release rule.
    @Test func comparatorStructure() throws {
        let range = try VersionRange("^1.2.3 || =2.0.0 || *")
        #expect(range.comparatorSets.count == 1)
        let caret = try VersionRange("^1.2.3 || =2.0.0")
        #expect(caret.comparatorSets.map { $0.map(\.op) } == [[.greaterThanOrEqual, .lessThan], [.equal]])
        #expect(caret.comparatorSets[0][1].version?.description == "2.0.0-0")
        #expect(caret.comparatorSets[0][1].test(try Version.parse("1.9.9-beta")))
        #expect(!caret.isSatisfied(by: "1.9.9-beta"))
        #expect(try VersionRange("").comparatorSets == [[Comparator(op: .equal, version: nil)]])
    }

    /// Whitespace of any JavaScript kind is collapsed, and spaces after operators, tildes and carets are tolerated.
    @Test func whitespace() throws {
        #expect(try VersionRange(" >=  1.2.3\t<\u{A0}2 ").description == ">=1.2.3 <2.0.0-0")
        #expect(try VersionRange("~ 1.2").description == ">=1.2.0 <1.3.0-0")
        #expect(try VersionRange("^  1.2.3").description == ">=1.2.3 <2.0.0-0")
        #expect(try VersionRange("1.2.3\n-\n2.0.0").description == ">=1.2.3 <=2.0.0")
        #expect(try VersionRange("1.x||2.x").description == ">=1.0.0 <2.0.0-0||>=2.0.0 <3.0.0-0")
    }

    /// Ranges over 256 characters are refused outright (node-semver has no limit for ranges; ours bounds the work).
    @Test func lengthLimit() {
        let long = Array(repeating: "1.2.3", count: 43).joined(separator: " ")
        #expect(long.utf16.count > 256)
        #expect(throws: SemVerError.tooLong(256)) { try VersionRange(long) }
    }

    /// Loose mode drops comparators it cannot read and counts them, so callers can refuse such input.
    @Test func looseDropsAreCounted() throws {
        #expect(try VersionRange("1.2.3 foo", loose: true).droppedComparators == 1)
        #expect(try VersionRange(">=1.2.3 || foo bar", loose: true).droppedComparators >= 2)
        #expect(try VersionRange("^1.2.3", loose: true).droppedComparators == 0)
    }

    /// `maxSatisfying` returns the highest version in the range.
    @Test func maxSatisfying() throws {
        let versions = ["1.0.0", "1.2.0", "1.9.9-beta", "2.0.0"].compactMap { Version($0) }
        #expect(try VersionRange("^1").maxSatisfying(versions)?.description == "1.2.0")
        #expect(try VersionRange("^3").maxSatisfying(versions) == nil)
    }

    /// Numbers past JavaScript's integer range desugar the way JavaScript prints them (`1e+21`), so absurd
    /// input fails exactly where node-semver's does.
    @Test func javaScriptNumberFormatting() {
        #expect(jsIncrement("7") == "8")
        #expect(jsIncrement("007") == "8")
        #expect(jsIncrement("9007199254740991") == "9007199254740992")
        #expect(jsIncrement("99999999999999999999") == "100000000000000000000")
        #expect(jsIncrement("999999999999999999999") == "1e+21")
        #expect(jsIncrement("12345678901234567890123") == "1.2345678901234568e+22")
        #expect(jsNumberString(12_345_678_901_234_567_168) == "12345678901234567000")
    }
}
