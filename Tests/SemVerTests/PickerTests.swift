import Testing
@testable import SemVer

@Suite("VersionPicker")
struct PickerTests {
    static let versions = [
        "0.9.0", "1.0.0", "1.1.0", "1.2.0-beta.1", "1.2.0", "1.3.0", "2.0.0-rc.1", "2.0.0", "2.1.0", "3.0.0-alpha.1",
    ]

    static func pick(_ wanted: String?, tags: [String: String] = ["latest": "2.0.0", "next": "3.0.0-alpha.1"],
                     deprecated: Set<String> = [], versions: [String] = versions) throws -> String? {
        try VersionPicker.pick(wanted: wanted, versions: versions, distTags: tags, deprecated: deprecated)
    }

    /// A range that `latest` satisfies picks `latest` even when higher versions satisfy it too.
    @Test func latestPreferredWhenItSatisfies() throws {
        #expect(try Self.pick("^2.0.0") == "2.0.0")
        #expect(try Self.pick(">=1") == "2.0.0")
        #expect(try Self.pick("*") == "2.0.0")
        #expect(try Self.pick(nil) == "2.0.0")
        #expect(try Self.pick("") == "2.0.0")
    }

    /// Otherwise the highest satisfying version, pre-releases only when the range names one of the same tuple.
    @Test func highestSatisfying() throws {
        #expect(try Self.pick("^1.0.0") == "1.3.0")
        #expect(try Self.pick("~1.2.0") == "1.2.0")
        #expect(try Self.pick("1.2.0-beta.0 - 1.2.0-rc") == "1.2.0-beta.1")
        #expect(try Self.pick(">=2.0.0-rc.1 <2.0.0") == "2.0.0-rc.1")
        #expect(try Self.pick("^3.0.0-alpha.0") == "3.0.0-alpha.1")
        #expect(try Self.pick("^3.0.0") == nil)
        #expect(try Self.pick("<0.1") == nil)
    }

    /// `*` (and no spec) takes `latest` even as a pre-release; `x` or `>=0.0.0` do not.
    @Test func prereleaseLatest() throws {
        let tags = ["latest": "3.0.0-alpha.1"]
        #expect(try Self.pick("*", tags: tags) == "3.0.0-alpha.1")
        #expect(try Self.pick(nil, tags: tags) == "3.0.0-alpha.1")
        #expect(try Self.pick("x", tags: tags) == "2.1.0")
        #expect(try Self.pick(">=0.0.0", tags: tags) == "2.1.0")
    }

    /// Tags and exact versions must exist as they are; deprecation does not matter for them.
    @Test func tagsAndExactVersions() throws {
        #expect(try Self.pick("next") == "3.0.0-alpha.1")
        #expect(try Self.pick("latest", deprecated: ["2.0.0"]) == "2.0.0")
        #expect(try Self.pick("nope") == nil)
        #expect(try Self.pick("missing", tags: ["missing": "9.9.9"]) == nil)
        #expect(try Self.pick("1.2.0-beta.1") == "1.2.0-beta.1")
        #expect(try Self.pick("v1.1.0") == "1.1.0")
        #expect(try Self.pick("=1.1.0+build") == "1.1.0")
        #expect(try Self.pick("1.1.1") == nil)
        #expect(try Self.pick("1.3.0", deprecated: ["1.3.0"]) == "1.3.0")
    }

    /// Deprecated versions lose to non-deprecated ones, including a deprecated `latest`; alone they still win.
    @Test func deprecatedAvoided() throws {
        #expect(try Self.pick("^1.0.0", deprecated: ["1.3.0"]) == "1.2.0")
        #expect(try Self.pick(nil, deprecated: ["2.0.0"]) == "2.1.0")
        #expect(try Self.pick("^2.0.0", deprecated: ["2.0.0", "2.1.0"]) == "2.1.0")
        #expect(try Self.pick("~1.3.0", deprecated: ["1.3.0"]) == "1.3.0")
    }

    /// A `latest` that is not published, or no `latest` at all, falls back to the highest version.
    @Test func missingLatest() throws {
        #expect(try Self.pick(nil, tags: [:]) == "2.1.0")
        #expect(try Self.pick(nil, tags: ["latest": "9.0.0"]) == "2.1.0")
        #expect(try Self.pick("^1", tags: [:]) == "1.3.0")
    }

    /// Packument keys that are not versions are skipped; equal precedence keeps document order; keys come back as written.
    @Test func oddKeys() throws {
        let versions = ["1.0.0+b", "1.0.0+a", "not-a-version", "1.0.0beta", "1.0.1"]
        #expect(try Self.pick("^1.0.0 <1.0.1", tags: [:], versions: versions) == "1.0.0+b")
        #expect(try Self.pick("1.0.0-beta", tags: [:], versions: versions) == nil)
        #expect(try Self.pick(">=1.0.0-beta <1.0.0", tags: [:], versions: versions) == "1.0.0beta")
    }

    /// An invalid spec throws instead of picking.
    @Test func invalidSpecThrows() {
        #expect(throws: SemVerError.self) { try Self.pick("not a tag") }
    }
}
