/// Whether a plugin works with the agent's `@elizaos/core` (issue 19): one rule for what the registry lists (its
/// `<channel>CoreRange` fields) and what a packument declares (the version's dependency or peer dependency on
/// `@elizaos/core`), so browsing and installing always agree.
///
/// - A range (`^1.2.0`, `>=1 <2`, `1.x`) decides as npm would, pre-releases of the agent's core included.
/// - An exact version (`0.1.9`, `2.0.0-alpha.3`, most of the real registry's pins) means "the same major": the same
///   major, and below 1.0 also the same minor (npm's caret idea without the lower bound, since a pin records what
///   the plugin was built against, not the oldest core it accepts).
/// - `workspace:*`, `latest`, `next`, `*`, empty, null, or anything else that is neither: unknown (nil).
/// - An unknown agent core version: unknown (nil). Unknown never blocks anything.
public enum CoreCompatibility {
    /// The package whose version the agent runs.
    public static let corePackage = "@elizaos/core"

    /// A declared requirement on the core, as written, and how it reads.
    public enum Requirement: Sendable, Equatable {
        case pin(Version)
        case range(VersionRange)
    }

    /// What `text` requires of the core; nil when it says nothing usable (unknown).
    public static func requirement(_ text: String?) -> Requirement? {
        guard let raw = text else { return nil }
        let text = raw.trimmingASCIIWhitespaceForCore()
        guard !text.isEmpty, text.utf16.count <= VersionSpec.maxLength, !text.contains(":") else { return nil }
        switch text.lowercased() {
        case "*", "x", "latest", "next", "": return nil
        default: break
        }
        if let version = Version(text, loose: true) ?? Version(lenient: text) { return .pin(version) }
        guard let range = try? VersionRange(text, loose: true, includePrerelease: true), range.droppedComparators == 0 else { return nil }
        // A range every version satisfies (`*`, `>=0.0.0-0`, `x.x`) says nothing either.
        if range.comparatorSets.contains(where: { $0.allSatisfy { $0.version == nil } }) { return nil }
        return .range(range)
    }

    /// true or false when both the requirement and the agent's core version are known; else nil.
    public static func check(_ requirementText: String?, core: Version?) -> Bool? {
        guard let core, let requirement = requirement(requirementText) else { return nil }
        return check(requirement, core: core)
    }

    public static func check(_ requirement: Requirement, core: Version) -> Bool {
        switch requirement {
        case .pin(let pinned):
            return pinned.major == core.major && (pinned.major > 0 || pinned.minor == core.minor)
        case .range(let range):
            return range.isSatisfied(by: core)
        }
    }

    /// The requirement as a user reads it: a range as written, a pin as the versions it admits (`0.1.x`, `2.x`).
    public static func describe(_ requirementText: String) -> String {
        switch requirement(requirementText) {
        case .pin(let version)?: version.major == 0 ? "0.\(version.minor).x" : "\(version.major).x"
        default: requirementText.trimmingASCIIWhitespaceForCore()
        }
    }

    /// `needs @elizaos/core ^0.1.9`: what a listing's `compatibility` says when a plugin does not fit.
    public static func needs(_ requirementText: String) -> String {
        "needs \(corePackage) \(describe(requirementText))"
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespaceForCore() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
