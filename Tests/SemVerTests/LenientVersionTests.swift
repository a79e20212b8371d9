import Testing
@testable import SemVer

@Suite("Lenient version")
struct LenientVersionTests {
    /// Registry text: `v`/`V` and `=` prefixes, short forms, leading zeros and spaces are read; build metadata dropped.
    @Test(arguments: [
        ("1.2.3", "1.2.3"),
        ("v0.5.0", "0.5.0"),
        ("V1.0.12", "1.0.12"),
        ("=1.2.3+build.5", "1.2.3"),
        ("=v2.0.0-alpha.4", "2.0.0-alpha.4"),
        (" 1.2.3\t", "1.2.3"),
        ("1", "1.0.0"),
        ("1.0", "1.0.0"),
        ("01.002.3", "1.2.3"),
        ("1.0.0-01", "1.0.0-1"),
        ("1.0.0-rc-1", "1.0.0-rc-1"),
        ("1.2.3+anything at all", "1.2.3"),
        ("999999999999999999.0.0", "999999999999999999.0.0"),
    ])
    func accepts(input: String, normalized: String) {
        #expect(Version(lenient: input)?.description == normalized)
        #expect(Version(lenient: input)?.build == [])
    }

    /// Anything else is not a version: words, ranges, wildcards, empty parts or identifiers, four parts, huge numbers.
    @Test(arguments: [
        "latest", "workspace:*", "", " ", "1..2", "1.2.3.4", "1.2.x", "^1.0.0", "~1.0.0", ">=1.0.0", "1.0.0-", "1.0.0-a..b",
        "1.0.0-a_b", "vv1.0.0", "==1.0.0", "v=1.0.0", "1.2.3beta", "99999999999999999999.0.0", "1.2.3-é", "-1.0.0",
    ])
    func refuses(input: String) {
        #expect(Version(lenient: input) == nil)
    }

    /// Precedence is semver's, pre-releases included, whatever prefix or short form the text had.
    @Test func precedence() throws {
        let ordered = try [
            "0.1.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
            "1.0.0", "v1.6.1", "2.0.0-alpha.4", "2.0.0-alpha.10", "2.0.0", "10.0.0",
        ].map { try #require(Version(lenient: $0), "\($0)") }
        for (a, b) in zip(ordered, ordered.dropFirst()) { #expect(a < b, "\(a) < \(b)") }
        #expect(Version(lenient: "1.0") == Version(lenient: "1.0.0"))
        #expect(Version(lenient: "v1.0.0") == Version("1.0.0"))
        #expect(Version(lenient: "v1.0.12")?.patch == 12)
        #expect(Version(lenient: "2.0.0-alpha.4")?.isPrerelease == true)
        #expect(Version(lenient: "v2.0.0")?.isPrerelease == false)
    }

    /// Whatever the strict grammar accepts reads the same leniently.
    @Test(arguments: ["1.2.3", "v1.2.3", "0.0.0", "1.2.3-0", "1.2.3-alpha.1", "1.2.3-alpha-x.0.z-9", "1.2.3--", "1.2.3-rc.1+build.5"])
    func agreesWithStrict(input: String) throws {
        let strict = try #require(Version(input))
        let lenient = try #require(Version(lenient: input))
        #expect(lenient == strict)
        #expect(lenient.description == strict.description)
    }
}
