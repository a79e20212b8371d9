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
    let requireSignatures: Bool
    let scrubber: SecretScrubber
    let logger: Logger

    public init(
        layout: InstallLayout, registry: NpmRegistryClient, npm: NpmRunner, configFile: AgentConfigFile, operations: OperationRunner,
        reasons: RestartReasonStore, history: InstallHistoryStore, listing: any RegistryListing, core: CorePolicy, catalogue: CatalogueSource,
        allowUnlisted: Bool, requireSignatures: Bool, scrubber: SecretScrubber, logger: Logger
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
        self.requireSignatures = requireSignatures
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
        guard let picked = wanted.pick(from: packument), let chosen = packument.versions[picked] else {
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

        let tarball = layout.downloadRoot + "/\(ctx.id).tgz"
        let staging = layout.stagingRoot + "/\(ctx.id)"
        defer {
            unlink(tarball)
            try? FileManager.default.removeItem(atPath: staging)
        }
        ctx.phase("downloading", progress: 0.1)
        try registry.download(chosen.dist.tarball, to: tarball, timeoutMs: ctx.stepTimeoutMs(.max)) { fraction in
            if let fraction { ctx.phase("downloading", progress: 0.1 + 0.4 * fraction) }
        }
        try ctx.checkDeadline("downloading")

        ctx.phase("verifying", progress: 0.5)
        try Verification.checkIntegrity(path: tarball, integrity: chosen.dist.integrity, shasum: chosen.dist.shasum)
        if !chosen.dist.signatures.isEmpty {
            guard let keys = try registry.signingKeys(timeoutMs: ctx.stepTimeoutMs(.max)) else {
                throw InstallError.refused("\(name)@\(picked) is signed, but the registry publishes no keys to check the signature with.")
            }
            try Verification.checkSignatures(
                name: name, version: picked, integrity: chosen.dist.integrity, signatures: chosen.dist.signatures, keys: keys,
                publishedAt: packument.time[picked])
            ctx.log("registry signature verified")
        } else if requireSignatures {
            throw InstallError.refused("\(name)@\(picked) carries no registry signature, and requireSignatures is on.")
        }
        ctx.log("integrity verified")

        ctx.phase("inspecting", progress: 0.55)
        let summary: TarballSummary
        do {
            summary = try TarballInspector.inspect(path: tarball)
        } catch {
            throw InstallError.refused("The tarball of \(name)@\(picked) was refused: \(error.description)")
        }
        try checkManifest(summary.packageJSON, name: name, version: picked, what: "the tarball's package.json")
        ctx.log("tarball inspected: \(summary.entries) entries, \(summary.unpackedBytes) bytes unpacked")

        ctx.phase("installing", progress: 0.6)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try writeProjectManifest(at: staging, dependencies: [:])
        try runNpm(tarball: tarball, prefix: staging, ctx: ctx)
        let stagedPackage = PluginPaths.packageDirectory(installPath: staging, npmName: name) + "/package.json"
        try checkManifest(FileManager.default.contents(atPath: stagedPackage).map(Array.init), name: name, version: picked, what: "the installed package.json")
        try writeProjectManifest(at: staging, dependencies: [name: picked])
        try ctx.checkDeadline("installing")

        ctx.phase("activating", progress: 0.9)
        let requiresRestart = try commit(
            name: name, version: picked, spec: "\(name)@\(wanted.text)", integrity: chosen.dist.integrity ?? chosen.dist.shasum,
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

    private func checkManifest(_ bytes: [UInt8]?, name: String, version: String, what: String) throws {
        guard let bytes, let manifest = try? JSONParser.parse(bytes, maxDepth: 64) else {
            throw InstallError.refused("\(what.prefix(1).uppercased() + what.dropFirst()) of \(name) is missing or not JSON.")
        }
        let foundName = manifest["name"]?.stringValue ?? "nothing"
        let foundVersion = manifest["version"]?.stringValue ?? "nothing"
        guard foundName == name, foundVersion == version else {
            throw InstallError.refused("\(what.prefix(1).uppercased() + what.dropFirst()) names \(foundName.prefix(100))@\(foundVersion.prefix(50)), not \(name)@\(version).")
        }
    }

    private func writeProjectManifest(at directory: String, dependencies: [String: String]) throws {
        let deps = JSONObject(dependencies.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })
        let manifest: JSONValue = ["name": "plugind-install", "private": true, "description": "Managed by plugind.", "dependencies": .object(deps)]
        try Data((JSONWriter.pretty(manifest) + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/package.json"))
    }

    private func runNpm(tarball: String, prefix: String, ctx: OperationContext) throws {
        let npmrc = prefix + "/.npmrc-plugind"
        var rc = "registry=\(registry.base)\nupdate-notifier=false\nfund=false\naudit=false\n"
        if let token = registry.token, let host = URLComponents(string: registry.base), let h = host.host {
            // The credential lives in this file only (mode 0600), never on npm's command line.
            rc += "//\(h)\(host.port.map { ":\($0)" } ?? "")\(host.path.hasSuffix("/") ? host.path : host.path + "/"):_authToken=\(token)\n"
        }
        guard FileManager.default.createFile(atPath: npmrc, contents: Data(rc.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw InstallError.upstream("Cannot write npm's configuration in the staging directory.")
        }
        defer { unlink(npmrc) }
        let timeout = ctx.stepTimeoutMs(npm.timeoutMs)
        let process = ChildProcess(
            executable: npm.executable,
            arguments: ["install", tarball, "--prefix", prefix, "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock",
                        "--registry", registry.base, "--userconfig", npmrc, "--loglevel", "warn"],
            environment: ["PATH": npm.path, "HOME": layout.stateDir, "npm_config_cache": layout.npmCache, "npm_config_update_notifier": "false"],
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
            let last = result.stdout.split(separator: "\n").last(where: { $0.contains("ERR") }) ?? result.stdout.split(separator: "\n").last ?? ""
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
