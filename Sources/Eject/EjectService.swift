import Adapters
import Foundation
import JSON
import Operations
import Plugins
import Runner
import Stores

/// Where a plugin's source lives, as the plugin registry says.
public struct PluginSource: Sendable {
    public let gitRepo: String?
    public let branch: String?
    public let directory: String?
    /// A full clone URL (the catalogue's `repository`), used when there is no `gitRepo`.
    public let url: String?
    /// Why the plugin registry could not be asked (it has no upstream copy), when nothing else names a repository.
    public let registryUnreachable: String?
    public init(gitRepo: String?, branch: String?, directory: String?, url: String? = nil, registryUnreachable: String? = nil) {
        self.gitRepo = gitRepo
        self.branch = branch
        self.directory = directory
        self.url = url
        self.registryUnreachable = registryUnreachable
    }
}

/// Ejecting plugins to a local git checkout, syncing them with upstream, and putting them back
/// (contract section 3). Every step runs in an operation and never loses a local edit.
public struct EjectService: Sendable {
    let work: PluginWork
    let gitBaseUrl: String
    let gitTimeoutMs: Int
    let buildTimeoutMs: Int
    let sources: @Sendable (String) -> PluginSource?
    /// The version of a plugin the agent bundles (its own node_modules), if it does.
    let bundledVersion: @Sendable (String) -> String?
    let git: Git
    /// The catalogue may name file:// (or absolute path) repositories: the development stack's example plugins.
    let allowLocalRepositories: Bool
    /// The runtime's verdict a sync that changed what the agent loads waits for (as an install does).
    let verdicts: VerdictWait

    var stateDir: String { work.layout.stateDir }
    var configFile: AgentConfigFile { work.configFile }
    var operations: OperationRunner { work.operations }
    var reasons: RestartReasonStore { work.reasons }
    var npmRegistry: NpmRegistryClient { work.npm }
    var installer: any Installer { work.installer }
    var scrubber: SecretScrubber { work.scrubber }

    public init(
        work: PluginWork, gitBaseUrl: String, gitTimeoutMs: Int, buildTimeoutMs: Int,
        bundledVersion: @escaping @Sendable (String) -> String? = { _ in nil }, allowLocalRepositories: Bool = false,
        verdicts: VerdictWait = VerdictWait(), sources: @escaping @Sendable (String) -> PluginSource?
    ) {
        self.allowLocalRepositories = allowLocalRepositories
        self.verdicts = verdicts
        self.work = work
        self.gitBaseUrl = gitBaseUrl.hasSuffix("/") ? gitBaseUrl : gitBaseUrl + "/"
        self.gitTimeoutMs = gitTimeoutMs
        self.buildTimeoutMs = buildTimeoutMs
        self.sources = sources
        self.bundledVersion = bundledVersion
        self.git = Git(installer: work.installer)
    }

    var layout: StateLayout { work.layout.state }
    var ejectedRoot: String { layout.ejected }
    var archiveRoot: String { layout.ejectedArchive }
    var stagingRoot: String { layout.staging }
    /// The installer's scratch space (verified tarballs), as installs use it.
    var scratchRoot: String { layout.downloads }

    public func ejectedPath(_ npmName: String) -> String { ejectedRoot + "/" + PluginIdentity.directoryName(npmName) }

    // MARK: POST /api/plugins/:id/eject

    public func eject(npmName: String, operationId: String?, requestId: String?) throws -> EjectResult {
        let target = ejectedPath(npmName)
        if FileManager.default.fileExists(atPath: target) {
            throw EjectError.conflict("\(npmName) is already ejected at \(target).", conflicts: [])
        }
        let document = try configFile.read()
        // The code the agent runs is the version to eject at: the installed one, else the bundled one.
        guard let version = AgentConfigEdits.installRecord(npmName, in: document)?["version"]?.stringValue ?? bundledVersion(npmName) else {
            throw EjectError.conflict(
                "\(npmName) has no code on this agent to eject (it is neither installed nor bundled); install it first.", conflicts: [])
        }
        let source = sources(npmName)
        if let directory = source?.directory, !directory.isEmpty {
            throw EjectError.refused(
                "\(npmName) lives in the monorepo folder '\(directory)' of \(source?.gitRepo ?? "its repository"); ejecting monorepo plugins is not supported (a sparse checkout cannot be synced safely).",
                logTail: [])
        }
        return try operations.perform(kind: "eject", target: npmName, operationId: operationId, requestId: requestId) { ctx in
            let git = git.watched(by: ctx)
            ctx.phase("resolving", progress: 0.05)
            var gitHead: String?
            var packageRepository: String?
            if let packument = try? npmRegistry.packument(npmName, timeoutMs: ctx.stepTimeoutMs(30_000)) {
                gitHead = packument.versions[version]?.gitHead
                packageRepository = packument.versions[version]?.repository
            }
            guard let url = repositoryURL(source: source, packageRepository: packageRepository) else {
                if let named = source?.url, source?.gitRepo == nil {
                    throw EjectError.refused(
                        "The catalogue names \(scrubber.scrub(named)) as \(npmName)'s repository, which plugind clones only when it is https (or, with allowLocalRepositories on, a local file:// repository).",
                        logTail: [])
                }
                if let reason = source?.registryUnreachable {
                    // Not the package's fault: the registry that would name its repository did not answer.
                    throw EjectError.upstream(
                        "The plugin registry is unreachable (\(reason)), so \(npmName)'s repository is unknown; check pluginRegistryUrls or the network, then POST /api/registry/refresh and eject again.")
                }
                throw EjectError.refused("\(npmName) names no source repository, in the plugin registry, the catalogue or its package.json.", logTail: [])
            }
            let staging = stagingRoot + "/\(ctx.id)"
            try installer.makeDirectory(stagingRoot, mode: 0o700)
            defer { try? installer.remove(staging) }

            ctx.phase("cloning", progress: 0.15)
            ctx.log("cloning \(scrubber.scrub(url))")
            try git.must(["clone", "--no-checkout", "--", url, staging], in: nil, timeoutMs: ctx.stepTimeoutMs(gitTimeoutMs), what: "clone")
            let branch: String
            if let named = source?.branch {
                // The registry names the branch: say so when the repository has no such branch.
                guard try git.run(["rev-parse", "--verify", "-q", "origin/\(named)"], in: staging, timeoutMs: 10_000, what: "branch").status == 0 else {
                    throw EjectError.refused(
                        "\(scrubber.scrub(url)) has no branch '\(named)', which the plugin registry names for \(npmName) (its git branch); eject again once the registry or the repository is fixed.",
                        logTail: ctx.tail)
                }
                branch = named
            } else {
                branch = try defaultBranch(in: staging, ctx: ctx)
            }
            let (commit, how) = try chooseCommit(in: staging, branch: branch, gitHead: gitHead, version: version, npmName: npmName, ctx: ctx)
            try git.must(["checkout", "-q", "-B", branch, commit], in: staging, timeoutMs: ctx.stepTimeoutMs(gitTimeoutMs), what: "checkout")
            // The right code or none: the checkout must be this plugin's package.
            try checkPackageName(in: staging, npmName: npmName, repository: url, ctx: ctx)
            _ = try? git.run(["branch", "-q", "--set-upstream-to=origin/\(branch)", branch], in: staging, timeoutMs: 10_000, what: "track")
            ctx.log("checked out \(commit.prefix(12)) (\(how))")
            try writeExcludes(staging)

            ctx.phase("building", progress: 0.5)
            try installAndBuild(staging, pluginName: npmName, ctx: ctx)

            let now = ISOTime.string(from: work.clock.now)
            try writeUpstream(staging, try JSONEncoding.value(UpstreamRecord(
                source: source?.gitRepo.map { "github:" + $0 } ?? url, gitUrl: scrubber.scrub(url), branch: branch, commitHash: commit,
                ejectedAt: now, npmPackage: npmName, npmVersion: version)))
            ctx.phase("activating", progress: 0.9)
            try installer.makeDirectory(layout.plugins, mode: 0o755)
            try installer.makeDirectory(ejectedRoot, mode: 0o755)
            do {
                try installer.move(staging, to: target)
            } catch {
                throw EjectError.upstream("Cannot move the checkout into \(target).")
            }
            // What the agent will load, read where plugind can read it (the staging folder is the installer's).
            _ = try recordBuild(target)
            try reasons.add("\(npmName) was ejected")
            let done = EjectResult(localPath: target, commit: commit, checkedOut: how)
            return done
        }
    }

    func repositoryURL(source: PluginSource?, packageRepository: String?) -> String? {
        Self.repositoryURL(source: source, packageRepository: packageRepository, gitBaseUrl: gitBaseUrl, allowLocal: allowLocalRepositories)
    }

    static func repositoryURL(source: PluginSource?, packageRepository: String?, gitBaseUrl: String, allowLocal: Bool = false) -> String? {
        if let repo = source?.gitRepo, !repo.isEmpty { return gitBaseUrl + repo }
        // The catalogue is the operator's: https, or a local repository when allowLocalRepositories says so.
        if let named = source?.url, !named.isEmpty {
            let scheme = URLComponents(string: named)?.scheme?.lowercased()
            if scheme == "https" { return named }
            if allowLocal && scheme == "file" { return named }
            if allowLocal && named.hasPrefix("/") { return "file://" + named }
            return nil
        }
        guard var text = packageRepository, !text.isEmpty else { return nil }
        if text.hasPrefix("git+") { text.removeFirst(4) }
        if text.hasPrefix("github:") { return gitBaseUrl + text.dropFirst("github:".count) }
        if !text.contains(":") && text.split(separator: "/").count == 2 { return gitBaseUrl + text }
        // A package's own repository field is not trusted with local files or plain http to elsewhere:
        // https anywhere, http only to loopback, file only when the configured base is itself local.
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased() else { return nil }
        switch scheme {
        case "https": return text
        case "http":
            return Loopback.isLoopback(host: url.host ?? "") ? text : nil
        case "file": return gitBaseUrl.hasPrefix("file://") ? text : nil
        default: return nil
        }
    }

    /// The checkout's package.json must name `npmName`: an ejected copy only ever stands in for its own plugin.
    func checkPackageName(in repo: String, npmName: String, repository: String, ctx: OperationContext) throws {
        let manifest = try installer.read(repo + "/package.json").flatMap { try? JSONParser.parse($0, maxDepth: 64) }
        let found = manifest?["name"]?.stringValue
        guard found == npmName else {
            throw EjectError.refused(
                "\(scrubber.scrub(repository)) holds \(found.map { "the package " + String($0.prefix(100)) } ?? "no package.json name"), not \(npmName); plugind never lets one plugin's code stand in for another's.",
                logTail: ctx.tail)
        }
    }

    func defaultBranch(in repo: String, ctx: OperationContext) throws -> String {
        let git = git.watched(by: ctx)
        let head = try git.run(["symbolic-ref", "--short", "refs/remotes/origin/HEAD"], in: repo, timeoutMs: 10_000, what: "remote head")
        if head.status == 0, let name = head.text.split(separator: "\n").first, name.hasPrefix("origin/") { return String(name.dropFirst(7)) }
        for candidate in ["main", "master", "next"] {
            if try git.run(["rev-parse", "--verify", "-q", "origin/\(candidate)"], in: repo, timeoutMs: 10_000, what: "branch").status == 0 { return candidate }
        }
        throw EjectError.refused("The repository has no branch plugind can follow (main, master or next).", logTail: ctx.tail)
    }

    /// The installed version's commit: gitHead, else a tag, else the branch head (and say which).
    func chooseCommit(in repo: String, branch: String, gitHead: String?, version: String?, npmName: String, ctx: OperationContext) throws -> (String, String) {
        let git = git.watched(by: ctx)
        if let gitHead, try git.run(["cat-file", "-e", gitHead + "^{commit}"], in: repo, timeoutMs: 10_000, what: "gitHead").status == 0 {
            return (gitHead, "gitHead of \(version ?? "the package")")
        }
        if let version {
            for tag in ["v\(version)", version, "\(npmName)@\(version)"] {
                let found = try git.run(["rev-parse", "--verify", "-q", "refs/tags/\(tag)^{commit}"], in: repo, timeoutMs: 10_000, what: "tag")
                if found.status == 0 { return (found.text.trimmingCharacters(in: .whitespacesAndNewlines), "tag \(tag)") }
            }
        }
        let head = try git.must(["rev-parse", "origin/\(branch)"], in: repo, timeoutMs: 10_000, what: "branch head")
        return (head, "head of \(branch); no commit for \(version.map { "version " + $0 } ?? "the version") was found")
    }

    func writeExcludes(_ repo: String) throws {
        let path = repo + "/.git/info/exclude"
        var text = (try? installer.read(path)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        text += "\n# plugind: build outputs and its own metadata never count as local changes\nnode_modules/\ndist/\npackage-lock.json\n.upstream.json\n"
        try installer.write(Array(text.utf8), to: path)
    }

    func writeUpstream(_ repo: String, _ value: JSONValue) throws {
        try installer.write(Array((JSONWriter.pretty(value) + "\n").utf8), to: repo + "/.upstream.json")
    }

    func readUpstream(_ repo: String) -> JSONObject {
        guard let data = FileManager.default.contents(atPath: repo + "/.upstream.json"),
            let value = (try? JSONParser.parse(Array(data), maxDepth: 16))?.objectValue
        else { return JSONObject() }
        return value
    }

    /// The checkout's dependencies through the same verified path as installs (registry specs only, every tarball
    /// checked by plugind, npm offline, the result compared), installed beside it and moved into its
    /// `node_modules`; then `npm run build` when there is a build script: the repository's own code, which the
    /// user chose to build.
    func installAndBuild(_ repo: String, pluginName: String, ctx: OperationContext) throws {
        // The checkout may still be in the installer's staging folder, which plugind cannot read itself.
        guard let manifest = try installer.read(repo + "/package.json").flatMap({ try? JSONParser.parse($0, maxDepth: 64) }) else {
            throw EjectError.refused("The repository has no readable package.json at its root.", logTail: ctx.tail)
        }
        let scratch = scratchRoot + "/\(ctx.id)"
        let prefix = stagingRoot + "/\(ctx.id).deps"
        defer {
            try? installer.remove(scratch)
            try? installer.remove(prefix)
        }
        let project = Packument.checkoutDependencies(of: manifest)
        let summary = try installer.installTree(
            TreeRequest(project: project, pathPrefix: [pluginName], scratch: scratch, prefix: prefix, reportPhases: false), known: [:], progress: ctx)
        let modules = repo + "/node_modules"
        try installer.remove(modules)
        if try installer.list(prefix).contains("node_modules") {
            do {
                try installer.move(prefix + "/node_modules", to: modules)
            } catch {
                throw EjectError.upstream("Cannot move the verified dependencies into \(modules).")
            }
        }
        ctx.log("dependencies: \(summary.count) verified package\(summary.count == 1 ? "" : "s")")
        if manifest["scripts"]?["build"]?.stringValue != nil {
            ctx.log("building")
            let timeoutMs = ctx.stepTimeoutMs(buildTimeoutMs)
            let result = try installer.run(.npm, ["run", "build"], in: repo, timeoutMs: timeoutMs, onSpawn: { ctx.childStarted($0) })
            for line in result.output.split(separator: "\n").suffix(30) { ctx.log(String(line)) }
            if result.timedOut { throw EjectError.timedOut("The build did not finish within \(timeoutMs / 1000) s.") }
            guard result.exitCode == 0 else {
                throw EjectError.refused("The build failed (exit \(result.exitCode.map(String.init) ?? "signal")).", logTail: ctx.tail)
            }
        }
        // The runtime loads the copy as its own user: readable, never writable by it (what is written after this,
        // .upstream.json, is plugind's metadata, not loaded).
        try installer.grantRead(repo)
    }
}

extension OperationContext {
    /// The last lines of the operation's log, for error bodies.
    var tail: [String] { Array(logLines.suffix(20)) }
}
