import Testing
@testable import SemVer

@Suite("Core compatibility")
struct CoreCompatibilityTests {
    /// The registry's pins mean "the same major" (and the same minor below 1.0); ranges decide as npm would, with
    /// the agent's pre-releases included; words, workspaces and wildcards are unknown.
    @Test(arguments: [
        ("0.1.9", "0.1.2", true as Bool?),
        ("0.1.9", "0.1.9", true),
        ("0.1.9", "0.2.0", false),
        ("0.1.9", "1.4.0", false),
        ("1.5.5", "1.0.0", true),
        ("1.5.5", "1.9.3", true),
        ("1.0.9", "2.0.0", false),
        ("2.0.0-alpha.3", "2.0.0-alpha.7", true),
        ("2.0.0-alpha.3", "2.1.0", true),
        ("2.0.0-alpha.3", "1.7.2", false),
        ("^0.1.9", "0.1.12", true),
        ("^0.1.9", "1.4.0", false),
        ("^1.0.0", "1.4.0", true),
        ("^1.0.0", "2.0.0-alpha.3", false),
        ("^1.0.0-alpha.25", "1.0.0-beta.2", true),
        (">=1.2 <2", "1.4.0", true),
        ("1.x", "1.4.0", true),
        ("latest", "1.4.0", nil),
        ("next", "1.4.0", nil),
        ("workspace:*", "1.4.0", nil),
        ("*", "1.4.0", nil),
        ("", "1.4.0", nil),
        ("not a range", "1.4.0", nil),
    ])
    func decides(requirement: String, core: String, compatible: Bool?) {
        #expect(CoreCompatibility.check(requirement, core: Version(lenient: core)) == compatible)
    }

    @Test func anUnknownCoreVersionNeverDecides() {
        #expect(CoreCompatibility.check("0.1.9", core: nil) == nil)
        #expect(CoreCompatibility.check(nil, core: Version(lenient: "1.4.0")) == nil)
    }

    /// What a user reads: ranges as written, pins as the versions they admit.
    @Test func describesRequirements() {
        #expect(CoreCompatibility.needs("^0.1.9") == "needs @elizaos/core ^0.1.9")
        #expect(CoreCompatibility.needs("0.1.9") == "needs @elizaos/core 0.1.x")
        #expect(CoreCompatibility.needs("2.0.0-alpha.3") == "needs @elizaos/core 2.x")
    }
}
