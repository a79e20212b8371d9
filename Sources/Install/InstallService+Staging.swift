import Adapters
import Foundation
import JSON
import Operations
import Plugins
import Runner
import Stores

/// One package of an installed tree as a manifest names it: `name@version@integrity` (the integrity is the SRI the
/// tarball was verified against; npm's lockfile records the same).
public struct PinnedPackage: Hashable, Comparable, Sendable {
    public let name: String
    public let version: String
    public let integrity: String

    public init(name: String, version: String, integrity: String) {
        self.name = name
        self.version = version
        self.integrity = integrity
    }

    /// Reads `name@version@integrity`; the name may start with `@` (a scope), the other two never hold one.
    public init?(parsing text: String) {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        let integrity = String(parts[parts.count - 1])
        let version = String(parts[parts.count - 2])
        let name = parts[0..<(parts.count - 2)].joined(separator: "@")
        guard !name.isEmpty, name != "@", !version.isEmpty, integrity.contains("-") else { return nil }
        self.init(name: name, version: version, integrity: integrity)
    }

    public var text: String { "\(name)@\(version)@\(integrity)" }
    public var key: String { "\(name)@\(version)" }

    public static func < (a: PinnedPackage, b: PinnedPackage) -> Bool { a.text < b.text }
}

/// A package staged for a manifest's apply: its verified tree installed by npm into `staging`, not yet in place.
public struct StagedPackage: Sendable {
    public let name: String
    public let version: String
    public let integrity: String?
    public let installPath: String
    public let staging: String
    public let warnings: [String]
}

extension InstallService {
    /// Where installs live (a manifest's apply moves trees there and aside itself).
    public var installLayout: InstallLayout { layout }
    /// The installer identity (moves and removals of plugin trees go through it).
    public var treeInstaller: any Installer { installer }

    /// Stages `name@version` the way POST /api/plugins/install installs it — the registry's listing, the package
    /// name, the agent's core, deprecations and advisories, every tarball verified and inspected, npm offline from
    /// exactly those files — into `staging`, and stops before the swap. `tree`, when given, is the tree the manifest
    /// names: the registry's must be exactly it (the same packages, each with the same integrity), else nothing is
    /// downloaded. The caller owns `staging` and `downloads` (it removes them when it gives up).
    public func stage(name: String, version: String, tree: [PinnedPackage]?, staging: String, downloads: String, ctx: OperationContext) throws
        -> StagedPackage
    {
        try checkNameAndListing(name)
        let installPath = try layout.installPath(for: name)
        let wanted = try VersionChoice.parse(version)
        let packument = try InstallError.fromRegistry { () throws(NpmRegistryError) in try registry.packument(name, timeoutMs: ctx.stepTimeoutMs(.max)) }
        guard packument.versions[version] != nil else {
            throw InstallError.refused("The npm registry does not serve \(name)@\(version), which the manifest names.")
        }
        let choice = try choose(wanted, from: packument, force: false)
        try checkDirectoryClash(name: name, installPath: installPath, document: try configFile.read())
        let soundness = try checkSoundness(name: name, version: choice.version, packument: packument, force: false, ctx: ctx)
        if let tree {
            let served = Set(soundness.tree.order.map { key -> PinnedPackage in
                let package = soundness.tree.packages[key]!
                return PinnedPackage(name: package.name, version: package.version, integrity: Self.sri(of: package.manifest.dist) ?? "none-")
            })
            let expected = Set(tree)
            if served != expected {
                let added = served.subtracting(expected).map(\.text).sorted()
                let missing = expected.subtracting(served).map(\.text).sorted()
                func list(_ items: [String]) -> String { items.prefix(3).joined(separator: ", ") + (items.count > 3 ? " and \(items.count - 3) more" : "") }
                let change = [added.isEmpty ? nil : "serves \(list(added))", missing.isEmpty ? nil : "no longer serves \(list(missing))"]
                    .compactMap { $0 }.joined(separator: " and ")
                throw InstallError.conflict(
                    "The npm registry's tree of \(name)@\(version) is not the manifest's: it \(change); nothing was installed. Export the manifest again from an agent that has the tree the registry serves.")
            }
            ctx.log("\(name)@\(version): the registry serves the manifest's tree (\(served.count) package\(served.count == 1 ? "" : "s"))")
        }
        try ctx.checkDeadline("checking")
        _ = try installer.installTree(
            TreeRequest(
                project: [.init(name: name, spec: choice.version, kind: .regular, optionalPeer: false)], scratch: downloads, prefix: staging,
                pinned: soundness.checked),
            known: [name: packument], progress: ctx)
        let dist = packument.versions[choice.version]?.dist
        return StagedPackage(
            name: name, version: choice.version, integrity: dist?.integrity ?? dist?.shasum, installPath: installPath, staging: staging,
            warnings: choice.warnings + soundness.warnings)
    }

    /// The SRI a tarball is verified against: the published sha512, else the published integrity, else the sha1
    /// shasum as SRI (what the lockfile records for such a package).
    public static func sri(of dist: Packument.Dist) -> String? {
        let entries = (dist.integrity ?? "").split(separator: " ").map(String.init)
        if let sha512 = entries.first(where: { $0.hasPrefix("sha512-") }) { return sha512 }
        if let first = entries.first { return first }
        guard let shasum = dist.shasum, shasum.count == 40 else { return nil }
        var bytes: [UInt8] = []
        var index = shasum.startIndex
        while index < shasum.endIndex {
            let next = shasum.index(index, offsetBy: 2)
            guard let byte = UInt8(shasum[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return "sha1-" + Data(bytes).base64EncodedString()
    }

    /// The verified tree an install left in `installPath`, from the lockfile plugind wrote for npm; nil when there is
    /// none (a package another tool installed).
    public static func lockedTree(installPath: String) -> [PinnedPackage]? {
        guard let data = FileManager.default.contents(atPath: installPath + "/package-lock.json"),
            let lock = try? JSONParser.parse(Array(data), maxDepth: 64), let packages = lock["packages"]?.objectValue
        else { return nil }
        var found: Set<PinnedPackage> = []
        for member in packages where !member.key.isEmpty {
            guard let range = member.key.range(of: "node_modules/", options: .backwards) else { continue }
            let name = String(member.key[range.upperBound...])
            guard let version = member.value["version"]?.stringValue, let integrity = member.value["integrity"]?.stringValue else { return nil }
            found.insert(PinnedPackage(name: name, version: version, integrity: integrity))
        }
        return found.sorted()
    }

    /// The agent config's `plugins.installs.<name>`, as an install writes it.
    public func installRecordValue(name: String, version: String, installPath: String) throws -> JSONValue {
        try JSONEncoding.value(InstallRecord(
            spec: "\(name)@\(version)", installPath: installPath, version: version, installedAt: ISOTime.string(from: work.clock.now)))
    }

    /// The install history's row of a package a manifest's apply put in place.
    public func recordInstalled(name: String, version: String, integrity: String?, operationId: String) {
        try? history.record(name: name, version: version, integrity: integrity, operationId: operationId)
    }

    /// After an uninstall or a manifest's apply removed a package: nothing to roll back to once it is gone, and no
    /// verdict on it.
    public func forgetRemoved(name: String, installPath: String) {
        try? versions.forgetKept(name)
        try? installer.remove(keptPath(installPath))
        try? versions.forgetVerdict(name)
    }

    /// Whether a plugin has an ejected copy (the agent loads it instead of the installed package).
    public func hasEjectedCopy(_ name: String) -> Bool { ejectedCopyExists(name) }
}

extension InstallService {
    /// How a change waits for the runtime's verdict (a manifest's apply waits once for all it changed).
    public var verdictWaiting: VerdictWait { verdictWait }
}

extension InstallService {
    /// The package name is valid (legacy names only for listed packages), and the plugin registry lists it unless
    /// `allowUnlistedPackages` says otherwise: what an install and a manifest's staging both check first.
    func checkNameAndListing(_ name: String) throws {
        let listed = listing.isListed(name)
        try PackageNames.check(name, legacyAllowed: listed == true)
        guard !allowUnlisted else { return }
        guard let listed else {
            throw InstallError.noRegistrySnapshot(
                "The plugin registry cannot tell whether it lists \(name) (\(listing.unavailableReason)); check pluginRegistryUrls or the network, then POST /api/registry/refresh, or set allowUnlistedPackages.")
        }
        guard listed else { throw InstallError.unlisted("\(name) is not listed in the plugin registry; only listed plugins can be installed.") }
    }
}
