import Adapters
import Runner
import SemVer

/// The `version` of an install request, classified the way npm does, and npm's pick from a packument.
public struct VersionChoice: Sendable {
    let spec: VersionSpec?
    /// What the user asked for, as shown in messages and in the install record's `spec`.
    public let text: String

    public static func parse(_ text: String?) throws(InstallError) -> VersionChoice {
        guard let text, !text.isEmpty else { return VersionChoice(spec: nil, text: "latest") }
        do {
            return VersionChoice(spec: try VersionSpec(text), text: text)
        } catch {
            throw .badRequest("version must be an exact version, a range (^1.2.0, ~1.2, >=1 <2, 1.x, …) or a dist-tag, not '\(text.prefix(100))'.")
        }
    }

    public var isExact: Bool {
        if case .version = spec { return true }
        return false
    }

    /// npm's choice: `dist-tags.latest` when it satisfies, else the highest satisfying version.
    public func pick(from packument: Packument) -> String? {
        let deprecated = Set(packument.versions.values.filter(\.deprecated).map(\.version))
        return VersionPicker.pick(spec, versions: packument.versionOrder, distTags: packument.distTags, deprecated: deprecated)
    }

    /// Whether `candidate` is a newer version than `installed`; nil when either does not parse.
    public static func isNewer(_ candidate: String, than installed: String) -> Bool? {
        guard let a = Version(candidate, loose: true), let b = Version(installed, loose: true) else { return nil }
        return a > b
    }
}

/// npm's rules for package names: new names strictly, legacy names (capitals) only when the plugin registry lists them.
public enum PackageNames {
    /// `action` completes "cannot be …" in the error: what the request wanted to do with the package.
    public static func check(_ name: String, legacyAllowed: Bool, action: String = "installed") throws(InstallError) {
        if PackageName.isValidForNewPackages(name) { return }
        if legacyAllowed && PackageName.isLegacyName(name) { return }
        let problems = PackageName.problems(name)
        let reason = problems.first ?? "it is not a valid npm package name"
        throw .badRequest("'\(String(name.prefix(100)).unicodeScalars.map { $0.value < 0x20 ? "?" : String($0) }.joined())' cannot be \(action): \(reason).")
    }
}
