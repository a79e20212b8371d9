import Adapters
import JSON
import Operations
import Runner
import SemVer

/// What an install is checked against before anything is downloaded (issue 19): the agent's `@elizaos/core` (a
/// version that does not fit is refused), and the registry's deprecations and security advisories for the whole tree.
public struct InstallChecks: Sendable {
    /// The `@elizaos/core` version the agent runs; nil: unknown, and compatibility never blocks.
    public let coreVersion: Version?
    /// Advisories at or above this severity refuse an install unless it is forced.
    public let blockSeverity: String
    /// The tree walk's limit (the installer enforces it again).
    public let maxTreePackages: Int

    public init(coreVersion: Version?, blockSeverity: String = "critical", maxTreePackages: Int = 2_000) {
        self.coreVersion = coreVersion
        self.blockSeverity = blockSeverity
        self.maxTreePackages = maxTreePackages
    }

    public static let none = InstallChecks(coreVersion: nil)
}

/// A version chosen with the agent's core in mind, and what the user should hear about the choice.
struct CheckedChoice {
    let version: String
    var warnings: [String]
}

extension InstallService {
    /// The version to install: npm's pick (contract section 3.3) when the core version is unknown or the request
    /// forces it; otherwise a tag or exact version must fit (`409`), and a range (or no version at all) takes its
    /// newest fitting version, saying when a newer one that does not fit was passed over.
    func choose(_ wanted: VersionChoice, from packument: Packument, force: Bool) throws -> CheckedChoice {
        let name = packument.name
        let npmPick = wanted.pick(from: packument).flatMap { packument.versions[$0] == nil ? nil : $0 }
        guard let core = checks.coreVersion else {
            guard let npmPick else { throw noVersion(name, wanted, packument) }
            return CheckedChoice(version: npmPick, warnings: [])
        }
        func fits(_ version: String) -> Bool? {
            CoreCompatibility.check(packument.requirement(of: version, on: CoreCompatibility.corePackage), core: core)
        }
        func needs(_ version: String) -> String {
            CoreCompatibility.describe(packument.requirement(of: version, on: CoreCompatibility.corePackage) ?? "")
        }
        /// The newest version that fits, wherever it is (a hint for the refusal).
        func newestFitting() -> String? {
            packument.versionOrder.filter { fits($0) == true }.compactMap { key in Version(key, loose: true).map { (key, $0) } }
                .max { ($0.1.isPrerelease ? 0 : 1, $0.1) < ($1.1.isPrerelease ? 0 : 1, $1.1) }?.0
        }
        func refusal(_ message: String, version: String) -> InstallError {
            let alternative = newestFitting()
            let hint = alternative.map { "; \(name) \($0) fits it" } ?? ""
            return .unlessForced(
                message + hint + ", or send \"force\": true to install it anyway.",
                details: Self.members(IncompatibleDetails(
                    package: name, version: version, requires: packument.requirement(of: version, on: CoreCompatibility.corePackage),
                    agentCoreVersion: core.description, compatibleVersion: alternative)))
        }

        switch wanted.spec {
        case .version?, .tag?:
            // A dist-tag or exact version names one version: never a silent substitute.
            guard let npmPick else { throw noVersion(name, wanted, packument) }
            guard fits(npmPick) == false else { return CheckedChoice(version: npmPick, warnings: []) }
            if force { return CheckedChoice(version: npmPick, warnings: [forcedWarning(name, npmPick, needs(npmPick), core)]) }
            throw refusal("\(name) \(npmPick) needs \(CoreCompatibility.corePackage) \(needs(npmPick)); this agent runs \(core)", version: npmPick)
        case .range?, nil:
            if force, let npmPick {
                let warnings = fits(npmPick) == false ? [forcedWarning(name, npmPick, needs(npmPick), core)] : []
                return CheckedChoice(version: npmPick, warnings: warnings)
            }
            let fitting = packument.versionOrder.filter { fits($0) != false }
            let deprecated = Set(packument.versions.values.filter(\.deprecated).map(\.version))
            guard let picked = VersionPicker.pick(wanted.spec, versions: fitting, distTags: packument.distTags, deprecated: deprecated) else {
                guard let npmPick else { throw noVersion(name, wanted, packument) }
                throw refusal(
                    "No version of \(name) in '\(wanted.text)' works with this agent's \(CoreCompatibility.corePackage) \(core): \(npmPick) needs \(needs(npmPick))",
                    version: npmPick)
            }
            var warnings: [String] = []
            if let npmPick, npmPick != picked, VersionChoice.isNewer(npmPick, than: picked) == true {
                warnings.append(
                    "\(name) \(npmPick) is newer, but it needs \(CoreCompatibility.corePackage) \(needs(npmPick)) and this agent runs \(core); \(picked) was chosen instead.")
            }
            return CheckedChoice(version: picked, warnings: warnings)
        }
    }

    private func forcedWarning(_ name: String, _ version: String, _ needs: String, _ core: Version) -> String {
        "\(name) \(version) needs \(CoreCompatibility.corePackage) \(needs) but this agent runs \(core); it was installed anyway because the request said force."
    }

    private func noVersion(_ name: String, _ wanted: VersionChoice, _ packument: Packument) -> InstallError {
        let tags = packument.distTags.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        return .refused("No version of \(name) satisfies '\(wanted.text)'; its dist-tags are \(tags.isEmpty ? "none" : tags).")
    }

    /// The whole tree `name@version` would bring, walked from packuments before anything is downloaded: deprecated
    /// packages are warnings; advisories at or above the blocking severity refuse the install unless forced, lower
    /// ones are warnings. Advisories that cannot be fetched are a warning, never a refusal. Returns the warnings, the
    /// advisories found (nil when they could not be checked), the checked tree's `name@version` keys, which the
    /// installer must find again (`TreeRequest.pinned`), and the tree itself (a manifest's apply compares it).
    func checkSoundness(name: String, version: String, packument: Packument, force: Bool, ctx: OperationContext) throws
        -> (warnings: [String], advisories: [Advisory]?, checked: [String], tree: DependencyTree)
    {
        ctx.phase("checking", progress: 0.04)
        let tree = try DependencyTree.resolve(
            project: [.init(name: name, spec: version, kind: .regular, optionalPeer: false)], known: [name: packument],
            maxPackages: checks.maxTreePackages
        ) { dependency throws(InstallError) in
            try InstallError.fromRegistry { () throws(NpmRegistryError) in try registry.packument(dependency, timeoutMs: ctx.stepTimeoutMs(.max)) }
        }
        var warnings: [String] = []
        let packages = tree.order.map { tree.packages[$0]! }
        for package in packages {
            guard let message = package.manifest.deprecationMessage else { continue }
            let shown = String(message.prefix(300))
            warnings.append("\(package.name)@\(package.version) is deprecated\(shown.isEmpty ? "." : ": \(shown)")")
        }
        let advisories: [Advisory]
        do {
            advisories = try registry.advisories(for: packages.map { ($0.name, $0.version) }, timeoutMs: ctx.stepTimeoutMs(.max))
        } catch {
            warnings.append("Security advisories could not be checked: \(error.description)")
            return (warnings, nil, tree.order, tree)
        }
        ctx.log("checked \(packages.count) package\(packages.count == 1 ? "" : "s") for advisories: \(advisories.count) found")
        let threshold = Advisory.rank(checks.blockSeverity)
        let blocking = advisories.filter { Advisory.rank($0.severity) >= threshold }
        if !blocking.isEmpty && !force {
            let more = blocking.count > 1 ? " and \(blocking.count - 1) more" : ""
            throw InstallError.unlessForced(
                "\(name)@\(version) brings a \(blocking[0].summary)\(more); send \"force\": true to install it anyway.",
                details: Self.members(BlockingAdvisories(advisories: blocking)))
        }
        for advisory in advisories {
            let forced = Advisory.rank(advisory.severity) >= threshold
            warnings.append(advisory.summary.prefix(1).uppercased() + advisory.summary.dropFirst() + (forced ? " (installed anyway: force)." : "."))
        }
        return (warnings, advisories, tree.order, tree)
    }

    /// The members of a refusal's error body besides `error`, in declared order.
    static func members(_ details: some Encodable) -> JSONObject {
        // Encoding throws only where a member's own `encode(to:)` does, and these hold plain values.
        (try? JSONEncoding.value(details))?.objectValue ?? JSONObject()
    }

    /// A version that does not fit the agent's core (409 unless forced).
    struct IncompatibleDetails: Encodable {
        let package: String
        let version: String
        let requires: String?
        let agentCoreVersion: String
        let compatibleVersion: String?
    }

    /// Advisories at or above `advisoryBlockSeverity` (409 unless forced).
    struct BlockingAdvisories: Encodable {
        let advisories: [Advisory]
    }
}

extension Advisory {
    /// `critical advisory for lodash@4.17.20: Prototype pollution (https://…)`.
    var summary: String {
        "\(severity) advisory for \(package)@\(version): \(title)\(url.map { " (\($0))" } ?? "")"
    }
}
