import Testing
@testable import SemVer

@Suite("Version")
struct VersionTests {
    /// Strict parsing (node-semver's default) accepts SemVer 2.0.0 with an optional leading `v` and surrounding spaces.
    @Test(arguments: [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        (" 1.2.3\t", "1.2.3"),
        ("\u{FEFF}1.2.3\u{A0}", "1.2.3"),
        ("0.0.0", "0.0.0"),
        ("1.2.3-0", "1.2.3-0"),
        ("1.2.3-alpha.1", "1.2.3-alpha.1"),
        ("1.2.3-alpha-x.0.z-9", "1.2.3-alpha-x.0.z-9"),
        ("1.2.3--", "1.2.3--"),
        ("1.2.3-0a", "1.2.3-0a"),
        ("1.2.3+build.001", "1.2.3"),
        ("1.2.3-rc.1+build.5", "1.2.3-rc.1"),
        ("9007199254740991.0.0", "9007199254740991.0.0"),
    ])
    func strictAccepts(input: String, normalized: String) {
        #expect(Version(input)?.description == normalized)
    }

    /// Strict parsing refuses leading zeros, missing parts, `=`, empty identifiers, non-ASCII and numbers above 2^53-1.
    @Test(arguments: [
        "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "=1.2.3", "vv1.2.3", "V1.2.3", "v 1.2.3",
        "1.2.3-", "1.2.3-01", "1.2.3-a..b", "1.2.3+", "1.2.3+a..b", "1.2.3beta", "1.2.3-é", "1.2.3 -beta",
        "9007199254740992.0.0", "1.2.3-beta_1", "a.b.c", "1.2.3-" + String(repeating: "a", count: 251),
    ])
    func strictRefuses(input: String) {
        #expect(Version(input) == nil)
    }

    /// Loose parsing (npm's) adds any run of `v`, `=` and spaces in front, leading zeros and a hyphen-less pre-release,
    /// backtracking into the patch number exactly like node-semver's regular expression.
    @Test(arguments: [
        ("=1.2.3", "1.2.3"),
        ("v=v 1.2.3", "1.2.3"),
        ("01.02.03", "1.2.3"),
        ("1.2.3beta", "1.2.3-beta"),
        ("1.2.3-01", "1.2.3-1"),
        ("1.2.3-", "1.2.3--"),
        ("1.2.3-.a", "1.2.3--.a"),
        ("1.2.34.5", "1.2.3-4.5"),
        ("1.2.3.4", nil),
        ("1.2", nil),
        ("9007199254740992.0.0", nil),
    ] as [(String, String?)])
    func looseAccepts(input: String, normalized: String?) {
        #expect(Version(input, loose: true)?.description == normalized)
    }

    /// Input longer than 256 UTF-16 units is refused, as node-semver does, before any parsing.
    @Test func tooLongIsRefused() throws {
        let long = "1.2.3+" + String(repeating: "b", count: 251)
        #expect(long.utf16.count == 257)
        #expect(Version(long) == nil)
        #expect(throws: SemVerError.tooLong(256)) { try Version.parse(long) }
        #expect(Version(String(long.dropLast()))?.build.first?.count == 250)
    }

    /// Precedence follows SemVer 2.0.0 §11 — the spec's own example chain, plus numeric-vs-alphanumeric rules.
    @Test func precedenceChain() throws {
        let chain = try [
            "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
            "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1-0", "1.0.1", "1.1.0",
            "1.10.0", "2.0.0-0", "2.0.0", "10.0.0", "9007199254740991.0.0",
        ].map { try #require(Version($0)) }
        for (index, version) in chain.enumerated() {
            for (otherIndex, other) in chain.enumerated() {
                #expect(version.compare(to: other) == (index < otherIndex ? -1 : index == otherIndex ? 0 : 1),
                        "\(version) vs \(other)")
            }
        }
        #expect(chain.shuffled().sorted() == chain)
    }

    /// Alphanumeric identifiers compare by ASCII (uppercase before lowercase, `-` before digits) and huge numeric
    /// identifiers compare exactly.
    @Test func identifierOrdering() throws {
        let pairs = [
            ("1.0.0-Beta", "1.0.0-alpha"), ("1.0.0--", "1.0.0-0a"), ("1.0.0-a-", "1.0.0-a0"),
            ("1.0.0-99999999999999999998", "1.0.0-99999999999999999999"), ("1.0.0-9", "1.0.0-10"),
            ("1.0.0-999", "1.0.0-a"), ("1.0.0-a.b", "1.0.0-a.b.0"),
        ]
        for (lower, higher) in pairs {
            let a = try #require(Version(lower)), b = try #require(Version(higher))
            #expect(a < b, "\(lower) < \(higher)")
            #expect(!(b < a))
        }
    }

    /// Build metadata is kept but ignored by equality, hashing and ordering.
    @Test func buildMetadataIgnored() throws {
        let a = try #require(Version("1.2.3-rc.1+build.1")), b = try #require(Version("1.2.3-rc.1+build.2"))
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(a.build == ["build", "1"])
        #expect(a.fullDescription == "1.2.3-rc.1+build.1")
        #expect(a.description == "1.2.3-rc.1")
        let loose = try #require(Version("1.2.3-007", loose: true))
        #expect(loose == Version("1.2.3-7"))
        #expect(loose.hashValue == Version("1.2.3-7")!.hashValue)
    }

    /// `clean` is node-semver's: trim, strip leading `=`/`v`, normalize, drop build metadata.
    @Test(arguments: [
        ("  =v1.2.3  ", "1.2.3"), ("v1.2.3-beta+b", "1.2.3-beta"), ("~1.2.3", nil), ("1.2", nil),
    ] as [(String, String?)])
    func clean(input: String, expected: String?) {
        #expect(Version.clean(input) == expected)
    }

    /// The parsed parts are exposed, with pre-release numerics normalized like node-semver's numbers.
    @Test func components() throws {
        let version = try #require(Version("v10.20.30-rc.01.x+exp.sha", loose: true))
        #expect([version.major, version.minor, version.patch] == [10, 20, 30])
        #expect(version.prerelease == ["rc", "1", "x"])
        #expect(version.build == ["exp", "sha"])
        #expect(version.isPrerelease)
        #expect(try Version.parse("1.2.3").isPrerelease == false)
        #expect(throws: SemVerError.invalidVersion("nope")) { try Version.parse("nope") }
    }
}
