import Adapters
import Foundation
import JSON
import Logging
import Operations
import Plugins
import Stores
import Tarball

/// What the plugin registry says about packages, as installing needs it.
public protocol RegistryListing: Sendable {
    /// nil when there is no registry snapshot at all.
    func isListed(_ npmName: String) -> Bool?
    /// Why there is no snapshot (the upstream's failure), for the 503.
    var unavailableReason: String { get }
    /// The newest version of the channel in use, when the registry knows the package.
    func latestVersion(_ npmName: String) -> String?
}

/// How npm is run: which binary, with what environment and limits.
public struct NpmRunner: Sendable {
    public let executable: String
    public let path: String
    public let timeoutMs: Int
    public init(executable: String = "npm", path: String, timeoutMs: Int) {
        self.executable = executable
        self.path = path
        self.timeoutMs = timeoutMs
    }
}

/// Installing and uninstalling npm packages as plugins (contract section 3): verified, inspected,
/// staged, swapped in, then committed to the agent config, each step recoverable after a crash.
public struct InstallService: Sendable {
    let layout: InstallLayout
    let registry: NpmRegistryClient
    let npm: NpmRunner
    let configFile: AgentConfigFile
    let operations: OperationRunner
    let reasons: RestartReasonStore
    let history: InstallHistoryStore
    let listing: any RegistryListing
    let core: CorePolicy
    let catalogue: CatalogueSource
    let allowUnlisted: Bool
    let policy: TreePolicy
    let scrubber: SecretScrubber
    let logger: Logger

    public init(
        layout: InstallLayout, registry: NpmRegistryClient, npm: NpmRunner, configFile: AgentConfigFile, operations: OperationRunner,
        reasons: RestartReasonStore, history: InstallHistoryStore, listing: any RegistryListing, core: CorePolicy, catalogue: CatalogueSource,
        allowUnlisted: Bool, policy: TreePolicy, scrubber: SecretScrubber, logger: Logger
    ) {
        self.layout = layout
        self.registry = registry
        self.npm = npm
        self.configFile = configFile
        self.operations = operations
        self.reasons = reasons
        self.history = history
        self.listing = listing
        self.core = core
        self.catalogue = catalogue
        self.allowUnlisted = allowUnlisted
        self.policy = policy
        self.scrubber = scrubber
        self.logger = logger
    }

    // MARK: POST /api/plugins/install

    public func install(name: String, version: String?, enable: Bool, operationId: String?, requestId: String?) throws -> JSONValue {
        let listed = listing.isListed(name)
        try PackageNames.check(name, legacyAllowed: listed == true)
        let wanted = try VersionChoice.parse(version)
        if !allowUnlisted {
            guard let listed else {
                throw InstallError.noRegistrySnapshot("The plugin registry is not available to check \(name) against: \(listing.unavailableReason)")
            }
            guard listed else { throw InstallError.unlisted("\(name) is not listed in the plugin registry; only listed plugins can be installed.") }
        }
        let installPath = try layout.installPath(for: name)
        try layout.prepare()
        var result: JSONValue = .null
        try operations.run(kind: "install", target: name, operationId: operationId, requestId: requestId) { ctx in
            result = try runInstall(name: name, wanted: wanted, enable: enable, installPath: installPath, ctx: ctx)
            return result
        }
        return result
    }

    private func runInstall(name: String, wanted: VersionChoice, enable: Bool, installPath: String, ctx: OperationContext) throws -> JSONValue {
        ctx.phase("resolving", progress: 0.02)
        let packument = try registry.packument(name, timeoutMs: ctx.stepTimeoutMs(.max))
        guard let picked = wanted.pick(from: packument), packument.versions[picked] != nil else {
            let tags = packument.distTags.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            throw InstallError.refused("No version of \(name) satisfies '\(wanted.text)'; its dist-tags are \(tags.isEmpty ? "none" : tags).")
        }
        ctx.log("resolved \(name)@\(wanted.text) to \(picked)")
        try ctx.checkDeadline("resolving")

        // The same version already in place: nothing to download.
        let current = try configFile.read()
        if let record = AgentConfigEdits.installRecord(name, in: current), record["version"]?.stringValue == picked,
            FileManager.default.fileExists(atPath: PluginPaths.packageDirectory(installPath: installPath, npmName: name) + "/package.json")
        {
            let changed = enable ? try enableIfNeeded(name) : false
            ctx.log("\(name)@\(picked) is already installed")
            return response(name: name, version: picked, installPath: installPath, requiresRestart: changed)
        }
        try checkDirectoryClash(name: name, installPath: installPath, document: current)

        let downloads = layout.downloadRoot + "/\(ctx.id)"
        let staging = layout.stagingRoot + "/\(ctx.id)"
        defer {
            try? FileManager.default.removeItem(atPath: downloads)
            try? FileManager.default.removeItem(atPath: staging)
        }
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let verified = try verifiedTree(name: name, version: picked, packument: packument, directory: downloads, ctx: ctx)

        ctx.phase("installing", progress: 0.6)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try write(Lockfile.projectManifest(name: name, version: picked), to: staging + "/package.json")
        try write(Lockfile.document(tree: verified.tree, layout: verified.layout, tarballs: verified.tarballs, integrity: verified.integrity),
                  to: staging + "/package-lock.json")
        try runNpm(prefix: staging, scratch: downloads, ctx: ctx)
        try checkInstalledTree(verified, prefix: staging)
        let stagedPackage = PluginPaths.packageDirectory(installPath: staging, npmName: name) + "/package.json"
        try checkManifest(FileManager.default.contents(atPath: stagedPackage).map(Array.init), name: name, version: picked, what: "the installed package.json")
        ctx.log("npm installed the \(verified.tree.count) verified package\(verified.tree.count == 1 ? "" : "s") offline")
        try ctx.checkDeadline("installing")

        ctx.phase("activating", progress: 0.9)
        let requiresRestart = try commit(
            name: name, version: picked, spec: "\(name)@\(wanted.text)", integrity: packument.versions[picked]?.dist.integrity ?? packument.versions[picked]?.dist.shasum,
            staging: staging, installPath: installPath, enable: enable, ctx: ctx)
        return response(name: name, version: picked, installPath: installPath, requiresRestart: requiresRestart)
    }

    private func response(name: String, version: String, installPath: String, requiresRestart: Bool) -> JSONValue {
        ["ok": true, "requiresRestart": .bool(requiresRestart), "plugin": ["name": .string(name), "version": .string(version), "installPath": .string(installPath)]]
    }

    /// Another package already owns the directory this one maps to.
    private func checkDirectoryClash(name: String, installPath: String, document: JSONObject) throws {
        for record in document["plugins"]?["installs"]?.objectValue ?? JSONObject() where record.key != name {
            if record.value["installPath"]?.stringValue == installPath || (try? layout.installPath(for: record.key)) == installPath {
                throw InstallError.conflict("\(record.key) is already installed in \(installPath), the directory \(name) would use.")
            }
        }
    }

    func checkManifest(_ bytes: [UInt8]?, name: String, version: String, what: String) throws {
        guard let bytes, let manifest = try? JSONParser.parse(bytes, maxDepth: 64) else {
            throw InstallError.refused("\(what.prefix(1).uppercased() + what.dropFirst()) of \(name) is missing or not JSON.")
        }
        let foundName = manifest["name"]?.stringValue ?? "nothing"
        let foundVersion = manifest["version"]?.stringValue ?? "nothing"
        guard foundName == name, foundVersion == version else {
            throw InstallError.refused("\(what.prefix(1).uppercased() + what.dropFirst()) names \(foundName.prefix(100))@\(foundVersion.prefix(50)), not \(name)@\(version).")
        }
    }

    private func write(_ document: JSONValue, to path: String) throws {
        try Data((JSONWriter.pretty(document) + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// npm installs the lockfile's verified tarballs and nothing else: offline (no registry, so no token), scripts
    /// off, git replaced by a program that refuses, its temporary files in the operation's own directory.
    private func runNpm(prefix: String, scratch: String, ctx: OperationContext) throws {
        let npmrc = prefix + "/.npmrc-plugind"
        let rc = "registry=\(registry.base)\nupdate-notifier=false\nfund=false\naudit=false\noffline=true\nignore-scripts=true\n"
        guard FileManager.default.createFile(atPath: npmrc, contents: Data(rc.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw InstallError.upstream("Cannot write npm's configuration in the staging directory.")
        }
        defer { unlink(npmrc) }
        let temporary = scratch + "/npm-tmp"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let timeout = ctx.stepTimeoutMs(npm.timeoutMs)
        let process = ChildProcess(
            executable: npm.executable,
            arguments: ["ci", "--prefix", prefix, "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--git", "/bin/false",
                        "--userconfig", npmrc, "--loglevel", "warn"],
            environment: [
                "PATH": npm.path, "HOME": layout.stateDir, "TMPDIR": temporary, "npm_config_cache": layout.npmCache,
                "npm_config_update_notifier": "false",
            ],
            workingDirectory: prefix, timeout: .milliseconds(timeout), outputMode: .combined, scrubber: scrubber)
        let result: ChildResult
        do {
            result = try process.run()
        } catch {
            throw InstallError.upstream("npm could not be started: \(error)")
        }
        for line in result.stdout.split(separator: "\n").suffix(30) { ctx.log("npm: " + line) }
        if result.timedOut { throw InstallError.timedOut("npm did not finish within \(timeout / 1000) s; the install was abandoned.") }
        guard result.exitCode == 0 else {
            let last = result.stdout.split(separator: "\n").last(where: { $0.contains("ERR") && !$0.contains("A complete log") })
                ?? result.stdout.split(separator: "\n").last ?? ""
            throw InstallError.upstream("npm failed (exit \(result.exitCode.map(String.init) ?? "signal")): \(last.prefix(300))")
        }
    }

    /// The commit point, in the contract's order: swap the staged tree in (the old one kept aside),
    /// write the agent config, then the database. A failure before the config write puts the old tree back.
    private func commit(
        name: String, version: String, spec: String, integrity: String?, staging: String, installPath: String, enable: Bool, ctx: OperationContext
    ) throws -> Bool {
        let aside = layout.asideRoot + "/\(ctx.id)"
        let hadPrevious = FileManager.default.fileExists(atPath: installPath)
        ctx.checkpoint([
            "step": "swapping", "installPath": .string(installPath), "aside": .string(aside), "staging": .string(staging),
            "version": .string(version), "hadPrevious": .bool(hadPrevious), "integrity": .string(integrity),
        ])
        if hadPrevious { try move(installPath, to: aside) }
        do {
            try move(staging, to: installPath)
        } catch {
            if hadPrevious { try? move(aside, to: installPath) }
            throw error
        }
        ctx.checkpoint([
            "step": "swapped", "installPath": .string(installPath), "aside": .string(aside), "version": .string(version),
            "hadPrevious": .bool(hadPrevious), "integrity": .string(integrity),
        ])
        let requiresRestart: Bool
        do {
            requiresRestart = try configFile.update { document -> Bool in
                let record: JSONValue = [
                    "source": "npm", "spec": .string(spec), "installPath": .string(installPath), "version": .string(version),
                    "installedAt": .string(ISOTime.string()),
                ]
                AgentConfigEdits.setInstallRecord(name, record, in: &document)
                let optional = core.isOptionalCore(name)
                if enable && !core.isCore(name) && !AgentConfigEdits.isEnabled(name, optionalCore: optional, in: document) {
                    AgentConfigEdits.setEnabled(name, true, optionalCore: optional, in: &document)
                }
                return true
            }
        } catch {
            // Before the commit point: the previous version goes back.
            try? FileManager.default.removeItem(atPath: installPath)
            if hadPrevious { try? move(aside, to: installPath) }
            throw error
        }
        ctx.checkpoint(["step": "committed", "installPath": .string(installPath), "aside": .string(aside), "version": .string(version), "integrity": .string(integrity)])
        // The restart reason first: whatever a crash cuts short from here, recovery finishes.
        try reasons.add("\(name)@\(version) was installed")
        try? history.record(name: name, version: version, integrity: integrity, operationId: ctx.id)
        try? FileManager.default.removeItem(atPath: aside)
        ctx.log("installed \(name)@\(version)")
        return requiresRestart
    }

    private func enableIfNeeded(_ name: String) throws -> Bool {
        guard !core.isCore(name) else { return false }
        let optional = core.isOptionalCore(name)
        let changed = try configFile.update { document -> Bool in
            guard !AgentConfigEdits.isEnabled(name, optionalCore: optional, in: document) else { return false }
            AgentConfigEdits.setEnabled(name, true, optionalCore: optional, in: &document)
            return true
        }
        if changed { try reasons.add("\(name) was enabled") }
        return changed
    }

    func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw InstallError.noSpace("No space left to move \(from) into place.") }
            throw InstallError.upstream("Cannot move \(from) to \(to): \(String(cString: strerror(code))).")
        }
    }
}
