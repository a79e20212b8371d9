import Adapters
import Foundation
import JSON
import Operations
import Stores
import Tarball

/// The limits and rules every package of an install's tree is held to (settings `maxTreePackages`,
/// `maxTreeUnpackedMiB`, `allowSha1Integrity`, `requireSignatures`).
public struct TreePolicy: Codable, Sendable {
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
public struct VerifiedTree: Sendable {
    public let tree: DependencyTree
    let layout: TreeLayout
    /// Package key → the verified tarball on disk.
    let tarballs: [String: String]
    /// Package key → the SRI the lockfile records.
    let integrity: [String: String]
    public let unpackedBytes: Int64
}

/// The only way a dependency tree enters plugind's directories (installs, and ejected checkouts): walked from
/// the registry's packuments, every tarball downloaded and checked by plugind, then installed by npm offline
/// from exactly those files, and the result compared with what was verified (docs/security.md).
public struct TreeInstaller: Sendable {
    let registry: NpmRegistryClient
    let npm: NpmRunner
    let policy: TreePolicy
    let scrubber: SecretScrubber

    public init(registry: NpmRegistryClient, npm: NpmRunner, policy: TreePolicy, scrubber: SecretScrubber) {
        self.registry = registry
        self.npm = npm
        self.policy = policy
        self.scrubber = scrubber
    }

    /// Resolves and verifies the tree of `project` into `scratch` (tarballs), then has npm install it into
    /// `prefix/node_modules` (`prefix` holds nothing else plugind needs: its package.json and lockfile are
    /// written here). Phases `resolving` … `installing`; a refusal leaves `scratch` and `prefix` to the caller.
    /// `pinned`: the `name@version` keys the caller checked; a walk that finds others is refused before any download.
    public func install(
        project: [Packument.Dependency], pathPrefix: [String] = [], known: [String: Packument] = [:], pinned: Set<String>? = nil, scratch: String,
        prefix: String, reportPhases: Bool = true, ctx: any TreeProgress
    ) throws -> VerifiedTree {
        let verified = try verify(
            project: project, pathPrefix: pathPrefix, known: known, pinned: pinned, directory: scratch, reportPhases: reportPhases, ctx: ctx)
        if reportPhases { ctx.phase("installing", progress: 0.6) }
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try write(Lockfile.projectManifest(verified.tree), to: prefix + "/package.json")
        try write(Lockfile.document(tree: verified.tree, layout: verified.layout, tarballs: verified.tarballs, integrity: verified.integrity),
                  to: prefix + "/package-lock.json")
        try runNpm(prefix: prefix, scratch: scratch, ctx: ctx)
        try checkInstalledTree(verified, prefix: prefix)
        // The runtime reads the tree as its own user; npm wrote it with this process's umask.
        ReadableTree.grant(prefix)
        ctx.log("npm installed the \(verified.tree.count) verified package\(verified.tree.count == 1 ? "" : "s") offline")
        return verified
    }

    /// Walks the tree from packuments, then downloads, verifies and inspects every tarball of it into `directory`.
    /// Nothing here runs npm.
    func verify(
        project: [Packument.Dependency], pathPrefix: [String], known: [String: Packument], pinned: Set<String>? = nil, directory: String,
        reportPhases: Bool, ctx: any TreeProgress
    ) throws -> VerifiedTree {
        func phase(_ name: String, _ progress: Double) {
            if reportPhases { ctx.phase(name, progress: progress) }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let tree = try DependencyTree.resolve(project: project, pathPrefix: pathPrefix, known: known, maxPackages: policy.maxPackages) { name throws(InstallError) in
            try InstallError.fromRegistry { () throws(NpmRegistryError) in try registry.packument(name, timeoutMs: ctx.stepTimeoutMs(.max)) }
        }
        if let pinned { try Self.checkPinned(tree, pinned) }
        let layout = try TreeLayout(tree: tree)
        ctx.log("resolved the tree: \(tree.count) package\(tree.count == 1 ? "" : "s"), all from the registry")
        try ctx.checkDeadline("resolving")

        phase("downloading", 0.1)
        var tarballs: [String: String] = [:]
        let count = Double(max(1, tree.count))
        for (index, key) in tree.order.enumerated() {
            let package = tree.packages[key]!
            let file = directory + "/\(index).tgz"
            do throws(NpmRegistryError) {
                let source = registry.client(for: package.name)
                try source.download(package.manifest.dist.tarball, of: "\(package.name)@\(package.version)", to: file, timeoutMs: ctx.stepTimeoutMs(.max)) { fraction in
                    if let fraction { phase("downloading", 0.1 + 0.4 * (Double(index) + fraction) / count) }
                }
            } catch {
                throw InstallError(error).naming("\(package.name)@\(package.version)", path: package.path)
            }
            tarballs[key] = file
            try ctx.checkDeadline("downloading")
        }

        phase("verifying", 0.5)
        var integrity: [String: String] = [:]
        var keysByRegistry: [String: [SigningKey]?] = [:]
        var signed = 0
        for key in tree.order {
            let package = tree.packages[key]!
            let what = "\(package.name)@\(package.version)"
            let dist = package.manifest.dist
            do throws(InstallError) {
                integrity[key] = try Verification.checkIntegrity(
                    path: tarballs[key]!, integrity: dist.integrity, shasum: dist.shasum, allowSha1: policy.allowSha1, what: what)
                if !dist.signatures.isEmpty {
                    // Each registry signs with its own keys (a private scope's, or the default one's).
                    let source = registry.client(for: package.name)
                    if keysByRegistry[source.base] == nil {
                        keysByRegistry[source.base] = .some(try InstallError.fromRegistry { () throws(NpmRegistryError) in
                            try source.signingKeys(for: what, timeoutMs: ctx.stepTimeoutMs(.max))
                        })
                    }
                    guard let published = keysByRegistry[source.base] ?? nil else {
                        throw InstallError.refused("\(what) is signed, but the registry publishes no keys to check the signature with.")
                    }
                    try Verification.checkSignatures(
                        name: package.name, version: package.version, integrity: dist.integrity, signatures: dist.signatures, keys: published,
                        publishedAt: package.publishedAt)
                    signed += 1
                } else if policy.requireSignatures {
                    throw InstallError.dependencyRefused("\(what) carries no registry signature, and requireSignatures is on.", path: package.path, spec: nil)
                }
            } catch {
                throw error.naming(what, path: package.path)
            }
        }
        ctx.log("integrity verified: \(tree.count) package\(tree.count == 1 ? "" : "s")")
        if signed > 0 { ctx.log("registry signature verified: \(signed) package\(signed == 1 ? "" : "s")") }

        phase("inspecting", 0.55)
        var unpacked: Int64 = 0
        for key in tree.order {
            let package = tree.packages[key]!
            let what = "\(package.name)@\(package.version)"
            let summary: TarballSummary
            do {
                summary = try TarballInspector.inspect(path: tarballs[key]!)
            } catch {
                throw InstallError.refused("The tarball of \(what) was refused: \(error.description)").naming(what, path: package.path)
            }
            try Self.checkManifest(summary.packageJSON, name: package.name, version: package.version, what: "the tarball's package.json")
            unpacked += summary.unpackedBytes
            if unpacked > policy.maxUnpackedBytes {
                throw InstallError.refused(
                    "The packages to install unpack to more than \(policy.maxUnpackedBytes >> 20) MiB; raise the setting maxTreeUnpackedMiB to install them.")
            }
        }
        ctx.log("tarballs inspected: \(tree.count), \(unpacked) bytes unpacked")
        return VerifiedTree(tree: tree, layout: layout, tarballs: tarballs, integrity: integrity, unpackedBytes: unpacked)
    }

    /// The walk must have found exactly the packages that were checked (compatibility, deprecations, advisories):
    /// the registry can publish a version that a range takes in between, and that one was never checked.
    static func checkPinned(_ tree: DependencyTree, _ pinned: Set<String>) throws(InstallError) {
        let found = Set(tree.order)
        guard found != pinned else { return }
        func list(_ keys: Set<String>) -> String {
            let sorted = keys.sorted()
            return sorted.prefix(3).joined(separator: ", ") + (sorted.count > 3 ? " and \(sorted.count - 3) more" : "")
        }
        let added = found.subtracting(pinned)
        let gone = pinned.subtracting(found)
        let change = [added.isEmpty ? nil : "now brings \(list(added))", gone.isEmpty ? nil : "no longer \(list(gone))"].compactMap { $0 }
        throw .conflict(
            "The dependency tree changed on the npm registry while it was being checked (it \(change.joined(separator: " and "))), so nothing was installed; install again to check the tree as it is now.")
    }

    /// npm installs the lockfile's verified tarballs and nothing else: offline (no registry, so no token), scripts
    /// off, git replaced by a program that refuses, its temporary files in the operation's own directory.
    private func runNpm(prefix: String, scratch: String, ctx: any TreeProgress) throws {
        let npmrc = prefix + "/.npmrc-plugind"
        let rc = "registry=\(registry.base)\nupdate-notifier=false\nfund=false\naudit=false\noffline=true\nignore-scripts=true\n"
        guard FileManager.default.createFile(atPath: npmrc, contents: Data(rc.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw InstallError.upstream("Cannot write npm's configuration in the staging directory.")
        }
        defer { unlink(npmrc) }
        let timeout = ctx.stepTimeoutMs(npm.timeoutMs)
        let result: ChildResult
        do {
            result = try npm.run(
                ["ci", "--prefix", prefix, "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--git", "/bin/false",
                 "--userconfig", npmrc, "--loglevel", "warn"],
                in: prefix, temporary: scratch + "/npm-tmp", timeoutMs: timeout, scrubber: scrubber, onSpawn: { ctx.childStarted($0) })
        } catch {
            throw InstallError.upstream("npm could not be started: \(error)")
        }
        for line in result.stdout.split(separator: "\n").suffix(30) { ctx.log("npm: " + line) }
        if result.timedOut { throw InstallError.timedOut("npm did not finish within \(timeout / 1000) s; the install was abandoned.") }
        guard result.exitCode == 0 else {
            throw InstallError.upstream("npm failed (exit \(result.exitCode.map(String.init) ?? "signal")): \(NpmRunner.failureLine(result.stdout))")
        }
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

    /// A package.json must name `name@version`.
    static func checkManifest(_ bytes: [UInt8]?, name: String, version: String, what: String) throws {
        let shown = what.prefix(1).uppercased() + what.dropFirst()
        guard let bytes, let manifest = try? JSONParser.parse(bytes, maxDepth: 64) else {
            throw InstallError.refused("\(shown) of \(name) is missing or not JSON.")
        }
        let foundName = manifest["name"]?.stringValue ?? "nothing"
        let foundVersion = manifest["version"]?.stringValue ?? "nothing"
        guard foundName == name, foundVersion == version else {
            throw InstallError.refused("\(shown) names \(foundName.prefix(100))@\(foundVersion.prefix(50)), not \(name)@\(version).")
        }
    }

    private func write(_ document: some Encodable, to path: String) throws {
        try Data((JSONWriter.pretty(try JSONEncoding.value(document)) + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }
}

extension InstallError {
    /// A download or verification failure, naming the package and its path when it is a dependency.
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
