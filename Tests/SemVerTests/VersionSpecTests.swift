import Testing
@testable import SemVer

@Suite("VersionSpec")
struct VersionSpecTests {
    enum Kind: String, Sendable {
        case version, range, tag, invalid
    }

    static func kind(_ input: String) -> Kind {
        switch try? VersionSpec(input) {
        case .version?: .version
        case .range?: .range
        case .tag?: .tag
        case nil: .invalid
        }
    }

    /// Inputs npm-package-arg reads as an exact version (loose grammar, like npm) are versions.
    @Test(arguments: ["1.2.3", "v1.2.3", "=1.2.3", " 1.2.3 ", "1.2.3-beta.1", "1.2.3+build.5", "01.2.3", "1.2.3beta"])
    func versions(input: String) {
        #expect(Self.kind(input) == .version)
    }

    /// Every range form of npm's grammar is a range, including the empty range, `*`, bare majors and `v2`.
    @Test(arguments: [
        "^1.2.3", "~1.2", "~>1.2.3", "1.x", "1.2.*", "*", "x", "X", "", "   ", ">=1.0.0 <2", ">= 1.2.3", "1.0.0 - 2.0.0",
        "1.2 - 2", "1 || 2", "^1.2.3 || ~2.0", "1.2", "2", "v2", "<=1.2.3-rc.1", "^0.0.3", "^0.x", "=1.x",
    ])
    func ranges(input: String) {
        #expect(Self.kind(input) == .range)
    }

    /// Dist-tag names: anything URL-safe that is not a valid version or range (npm's rule).
    @Test(arguments: ["latest", "next", "beta", "canary", "rc-1", "next.2", "legacy_v1", "V1", "1.2.3.4", "~", "x-y"])
    func tags(input: String) {
        #expect(Self.kind(input) == .tag)
    }

    /// Everything else is invalid (the API's 400): spaces or `/` in a would-be tag, git/file/URL specs, directory-like
    /// and tarball-like names, non-ASCII, and — stricter than npm — ranges loose parsing would silently shorten,
    /// tags that look like mistyped versions, and input over 256 characters.
    @Test(arguments: [
        "foo bar", "^1.0.0 foo", "1.2.3 || foo", "v1beta", "v2-next", "a/b", "github:a/b", "file:../x", "../x", ".next",
        "x.tgz", "latest.tar.gz", "é", "%20", "a%2fb", "<script>", "1.2.3 - foo", "latest\u{0}",
        String(repeating: "a", count: 257),
    ])
    func invalid(input: String) {
        #expect(Self.kind(input) == .invalid)
    }

    /// The parsed payloads: the version is normalized, the range keeps its loose grammar, the tag is trimmed.
    @Test func payloads() throws {
        #expect(try VersionSpec(" v1.2.3+b ") == .version(Version.parse("1.2.3+b")))
        guard case .range(let range) = try VersionSpec("^1.2.3") else { Issue.record("not a range"); return }
        #expect(range.loose)
        #expect(range.description == ">=1.2.3 <2.0.0-0")
        #expect(try VersionSpec(" next ") == .tag("next"))
        #expect(try VersionSpec("next").description == "next")
        #expect(throws: SemVerError.invalidSpec("a b")) { try VersionSpec("a b") }
        #expect(throws: SemVerError.tooLong(256)) { try VersionSpec(String(repeating: "1", count: 300)) }
    }

    /// `isValidTag` applies npm's tag rule on its own: no valid ranges, no encoded characters, no `v`+digit.
    @Test func tagRule() {
        #expect(VersionSpec.isValidTag("latest"))
        #expect(!VersionSpec.isValidTag("1.x"))
        #expect(!VersionSpec.isValidTag("v1"))
        #expect(!VersionSpec.isValidTag("v1rc"))
        #expect(!VersionSpec.isValidTag(""))
        #expect(!VersionSpec.isValidTag("a b"))
        #expect(!VersionSpec.isValidTag("ünïcode"))
    }
}
