import Adapters
import Foundation
import JSON
import Operations
import Tarball

/// The limits and rules every package of an install's tree is held to (settings `maxTreePackages`,
/// `maxTreeUnpackedMiB`, `allowSha1Integrity`, `requireSignatures`).
public struct TreePolicy: Sendable {
    public let maxPackages: Int
    public let maxUnpackedBytes: Int64
    public let allowSha1: Bool
    public let requireSignatures: Bool

    public init(maxPackages: Int, maxUnpackedBytes: Int64, allowSha1: Bool, requireSignatures: Bool) {
        self.maxPackages = maxPackages
        self.maxUnpackedBytes = maxUnpackedBytes
        self.allowSha1 = allowSha1
        self.requireSignatures = requireSignatures
    }
}

/// A tree whose every tarball plugind downloaded and checked, ready for npm to install offline.
struct VerifiedTree {
    let tree: DependencyTree
    let layout: TreeLayout
    /// Package key → the verified tarball on disk.
    let tarballs: [String: String]
    /// Package key → the SRI the lockfile records.
    let integrity: [String: String]
    let unpackedBytes: Int64
}

extension InstallService {
    /// Walks the tree from packuments, then downloads, verifies and inspects every tarball of it into `directory`.
    /// Nothing here runs npm; a refusal leaves only `directory`, which the caller removes.
    func verifiedTree(name: String, version: String, packument: Packument, directory: String, ctx: OperationContext) throws -> VerifiedTree {
        let tree = try DependencyTree.resolve(
            rootName: name, rootVersion: version, rootPackument: packument, maxPackages: policy.maxPackages
        ) { dependency throws(InstallError) in
            try registry.packument(dependency, timeoutMs: ctx.stepTimeoutMs(.max))
        }
        let layout = try TreeLayout(tree: tree)
        ctx.log("resolved the tree: \(tree.count) package\(tree.count == 1 ? "" : "s"), all from the registry")
        try ctx.checkDeadline("resolving")

        ctx.phase("downloading", progress: 0.1)
        var tarballs: [String: String] = [:]
        let count = Double(tree.count)
        for (index, key) in tree.order.enumerated() {
            let package = tree.packages[key]!
            let file = directory + "/\(index).tgz"
            let what = "\(package.name)@\(package.version)"
            do {
                try registry.download(package.manifest.dist.tarball, to: file, timeoutMs: ctx.stepTimeoutMs(.max)) { fraction in
                    if let fraction { ctx.phase("downloading", progress: 0.1 + 0.4 * (Double(index) + fraction) / count) }
                }
            } catch {
                throw error.naming(what, path: package.path)
            }
            tarballs[key] = file
            try ctx.checkDeadline("downloading")
        }

        ctx.phase("verifying", progress: 0.5)
        var integrity: [String: String] = [:]
        var keys: [SigningKey]?? = .none
        var signed = 0
        for key in tree.order {
            let package = tree.packages[key]!
            let what = "\(package.name)@\(package.version)"
            let dist = package.manifest.dist
            do {
            integrity[key] = try Verification.checkIntegrity(
                path: tarballs[key]!, integrity: dist.integrity, shasum: dist.shasum, allowSha1: policy.allowSha1, what: what)
            if !dist.signatures.isEmpty {
                if keys == nil { keys = .some(try registry.signingKeys(timeoutMs: ctx.stepTimeoutMs(.max))) }
                guard let published = keys ?? nil else {
                    throw InstallError.refused("\(what) is signed, but the registry publishes no keys to check the signature with.")
                }
                try Verification.checkSignatures(
                    name: package.name, version: package.version, integrity: dist.integrity, signatures: dist.signatures, keys: published,
                    publishedAt: package.publishedAt)
                signed += 1
            } else if policy.requireSignatures {
                throw InstallError.dependencyRefused(
                    "\(what) carries no registry signature, and requireSignatures is on.", path: package.path, spec: nil)
            }
            } catch let error as InstallError {
                throw error.naming(what, path: package.path)
            }
        }
        ctx.log("integrity verified: \(tree.count) package\(tree.count == 1 ? "" : "s")")
        if signed > 0 { ctx.log("registry signature verified: \(signed) package\(signed == 1 ? "" : "s")") }

        ctx.phase("inspecting", progress: 0.55)
        var unpacked: Int64 = 0
        for key in tree.order {
            let package = tree.packages[key]!
            let summary: TarballSummary
            do {
                summary = try TarballInspector.inspect(path: tarballs[key]!)
            } catch {
                throw InstallError.refused("The tarball of \(package.name)@\(package.version) was refused: \(error.description)")
                    .naming("\(package.name)@\(package.version)", path: package.path)
            }
            try checkManifest(summary.packageJSON, name: package.name, version: package.version, what: "the tarball's package.json")
            unpacked += summary.unpackedBytes
            if unpacked > policy.maxUnpackedBytes {
                throw InstallError.refused(
                    "\(name)@\(version) and its dependencies unpack to more than \(policy.maxUnpackedBytes >> 20) MiB; raise the setting maxTreeUnpackedMiB to install it.")
            }
        }
        ctx.log("tarballs inspected: \(tree.count), \(unpacked) bytes unpacked")
        return VerifiedTree(tree: tree, layout: layout, tarballs: tarballs, integrity: integrity, unpackedBytes: unpacked)
    }

    /// What npm left in `prefix/node_modules` must be the verified tree: every package at its place with its
    /// name and version, nothing else (optional packages may be missing).
    func checkInstalledTree(_ verified: VerifiedTree, prefix: String) throws {
        var found: [String: String] = [:]
        try Self.collectPackages(in: prefix, location: "", into: &found)
        for (location, key) in found.sorted(by: { $0.key < $1.key }) where verified.layout.locations[location] != key {
            throw InstallError.refused("npm installed \(key) at \(location), which plugind did not verify; the install was abandoned.")
        }
        for (location, key) in verified.layout.locations where found[location] == nil && verified.tree.packages[key]?.optional != true {
            throw InstallError.refused("npm did not install \(key), a verified dependency; the install was abandoned.")
        }
    }

    private static func collectPackages(in base: String, location: String, into found: inout [String: String]) throws {
        let modules = (base as NSString).appendingPathComponent("node_modules")
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: modules)) ?? [] where !entry.hasPrefix(".") {
            let names: [String]
            if entry.hasPrefix("@") {
                names = ((try? FileManager.default.contentsOfDirectory(atPath: modules + "/" + entry)) ?? []).map { entry + "/" + $0 }
            } else {
                names = [entry]
            }
            for name in names {
                let directory = modules + "/" + name
                let here = TreeLayout.child(name, of: location)
                var info = stat()
                guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                    throw InstallError.refused("npm left \(here), which is not a package directory; the install was abandoned.")
                }
                let manifest = FileManager.default.contents(atPath: directory + "/package.json").flatMap { try? JSONParser.parse(Array($0), maxDepth: 64) }
                found[here] = "\(manifest?["name"]?.stringValue ?? "?")@\(manifest?["version"]?.stringValue ?? "?")"
                try collectPackages(in: directory, location: here, into: &found)
            }
        }
    }
}

extension InstallError {
    /// A download failure, naming the package when it is a dependency.
    func naming(_ what: String, path: [String]) -> InstallError {
        guard path.count > 1 else { return self }
        switch self {
        case .upstream(let m): return .upstream("\(m.dropLast(m.hasSuffix(".") ? 1 : 0)) (\(what), required by \(DependencyTree.path(path.dropLast()))).")
        case .timedOut(let m): return .timedOut("\(m.dropLast(m.hasSuffix(".") ? 1 : 0)) (\(what), required by \(DependencyTree.path(path.dropLast()))).")
        case .refused(let m): return .dependencyRefused(m, path: path, spec: nil)
        default: return self
        }
    }
}
