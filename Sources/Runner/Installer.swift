import Adapters
import Foundation
import Operations
import Stores

/// What an install or eject asks of the installer identity: the only code that runs npm and git, and the only
/// one that creates, moves and deletes plugin trees (docs/security.md, "Who may touch what"). `LocalInstaller`
/// does it in this process; `RunnerClient` sends each job to `plugind runner`, which systemd starts as the
/// installer user, so npm, git and a repository's build never run with plugind's identity.
public protocol Installer: Sendable {
    /// Walks, verifies and installs a dependency tree into `request.prefix` (TreeInstaller), reporting progress.
    func installTree(_ request: TreeRequest, known: [String: Packument], progress: any TreeProgress) throws -> TreeSummary
    /// Runs npm or git with `arguments` in `directory`, with the installer's fixed environment; `onSpawn` learns
    /// the child's process group as soon as it starts (an operation records it for recovery).
    func run(_ tool: Tool, _ arguments: [String], in directory: String?, timeoutMs: Int, onSpawn: (@Sendable (pid_t) -> Void)?) throws -> ToolResult
    /// Ends what is left of process groups an interrupted operation started (they run as the installer user).
    func endGroups(_ groups: [ProcessGroup]) throws
    func makeDirectory(_ path: String, mode: UInt16) throws
    /// rename(2): both paths on one file system.
    func move(_ from: String, to: String) throws
    /// Removes a file or a whole tree; a missing path is no error.
    func remove(_ path: String) throws
    /// Writes a small file (a manifest, `.upstream.json`, git's exclude list), replacing it.
    func write(_ bytes: [UInt8], to path: String) throws
    /// Makes a tree readable by the runtime (`chmod -R a+rX`, links left alone).
    func grantRead(_ path: String) throws
    /// The names in a directory of the installer's (staging, trees set aside), which plugind may not list itself.
    func list(_ path: String) throws -> [String]
    /// A small file of the installer's (a staged checkout's package.json), or nil when there is none.
    func read(_ path: String) throws -> [UInt8]?
}

extension Installer {
    public func run(_ tool: Tool, _ arguments: [String], in directory: String?, timeoutMs: Int) throws -> ToolResult {
        try run(tool, arguments, in: directory, timeoutMs: timeoutMs, onSpawn: nil)
    }
}

/// The programs the installer runs.
public enum Tool: String, Codable, Sendable {
    case npm, git
}

/// How a program run ended, with its scrubbed, interleaved output.
public struct ToolResult: Codable, Sendable {
    public let exitCode: Int32?
    public let timedOut: Bool
    public let output: String

    public init(exitCode: Int32?, timedOut: Bool, output: String) {
        self.exitCode = exitCode
        self.timedOut = timedOut
        self.output = output
    }
}

/// A tree to install: the project's dependencies, where the tarballs and the installed tree go.
public struct TreeRequest: Codable, Sendable {
    public struct Dependency: Codable, Sendable {
        let name: String
        let spec: String
        let kind: String
        let optionalPeer: Bool
    }

    let project: [Dependency]
    let pathPrefix: [String]
    let scratch: String
    let prefix: String
    let reportPhases: Bool
    /// The tree the caller already checked, as `name@version` keys: the walk must come to exactly these packages or
    /// nothing is downloaded (a version published between the check and the install). nil: whatever the walk finds.
    let pinned: [String]?

    public init(
        project: [Packument.Dependency], pathPrefix: [String] = [], scratch: String, prefix: String, reportPhases: Bool = true, pinned: [String]? = nil
    ) {
        self.project = project.map { Dependency(name: $0.name, spec: $0.spec, kind: $0.kind.rawValue, optionalPeer: $0.optionalPeer) }
        self.pinned = pinned
        self.pathPrefix = pathPrefix
        self.scratch = scratch
        self.prefix = prefix
        self.reportPhases = reportPhases
    }

    public var scratchPath: String { scratch }
    public var prefixPath: String { prefix }

    var dependencies: [Packument.Dependency] {
        project.map { .init(name: $0.name, spec: $0.spec, kind: Packument.Dependency.Kind(rawValue: $0.kind) ?? .regular, optionalPeer: $0.optionalPeer) }
    }
}

/// What an installed tree amounted to.
public struct TreeSummary: Codable, Sendable {
    public let count: Int
    public let unpackedBytes: Int64
}

/// Where a long job reports to: an operation (phases, log, deadline), or the runner's connection.
public protocol TreeProgress: Sendable {
    func phase(_ name: String, progress: Double?)
    func log(_ line: String)
    func stepTimeoutMs(_ defaultMs: Int) -> Int
    func checkDeadline(_ step: String) throws
    /// A child process (its own process group) started for this job.
    func childStarted(_ pid: Int32)
}

extension TreeProgress {
    public func childStarted(_ pid: Int32) {}
}

extension OperationContext: TreeProgress {}

/// What the installer needs from plugind's settings, sent along with each job to a runner (which has no settings
/// file of its own: it never reads plugind's, which hold secrets).
public struct InstallerSettings: Codable, Sendable {
    public let registry: NpmRegistryConfiguration
    public let policy: TreePolicy
    public let npmTimeoutMs: Int

    public init(registry: NpmRegistryConfiguration, policy: TreePolicy, npmTimeoutMs: Int) {
        self.registry = registry
        self.policy = policy
        self.npmTimeoutMs = npmTimeoutMs
    }
}

/// The installer in this process: what `plugind runner` runs for each job, and what plugind uses itself when
/// no runner is configured (`installerSocket` unset).
public struct LocalInstaller: Installer {
    let trees: TreeInstaller
    let npm: NpmRunner
    let git: GitCommand
    let scrubber: SecretScrubber

    /// `layout` places npm's home and cache; `path` is the PATH npm and git are found in.
    public init(settings: InstallerSettings, layout: InstallLayout, path: String, scrubber: SecretScrubber) {
        npm = NpmRunner(path: path, timeoutMs: settings.npmTimeoutMs, home: layout.npmHome, cache: layout.npmCache)
        trees = TreeInstaller(registry: NpmRegistryClient(settings.registry), npm: npm, policy: settings.policy, scrubber: scrubber)
        git = GitCommand(path: path, home: layout.npmHome)
        self.scrubber = scrubber
    }

    public func installTree(_ request: TreeRequest, known: [String: Packument], progress: any TreeProgress) throws -> TreeSummary {
        let verified = try trees.install(
            project: request.dependencies, pathPrefix: request.pathPrefix, known: known, pinned: request.pinned.map(Set.init), scratch: request.scratch,
            prefix: request.prefix, reportPhases: request.reportPhases, ctx: progress)
        return TreeSummary(count: verified.tree.count, unpackedBytes: verified.unpackedBytes)
    }

    public func run(
        _ tool: Tool, _ arguments: [String], in directory: String?, timeoutMs: Int, onSpawn: (@Sendable (pid_t) -> Void)?
    ) throws -> ToolResult {
        let result: ChildResult
        do {
            switch tool {
            case .npm:
                let temporary = npm.home + "/tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                defer { try? FileManager.default.removeItem(atPath: temporary) }
                result = try npm.run(arguments, in: directory ?? "/", temporary: temporary, timeoutMs: timeoutMs, scrubber: scrubber, onSpawn: onSpawn)
            case .git:
                result = try git.run(arguments, in: directory, timeoutMs: timeoutMs, scrubber: scrubber, onSpawn: onSpawn)
            }
        } catch {
            throw InstallError.upstream("\(tool.rawValue) could not be started: \(error)")
        }
        return ToolResult(exitCode: result.exitCode, timedOut: result.timedOut, output: result.stdout)
    }

    /// Only groups of this process's user: the installer never signals anyone else's processes.
    public func endGroups(_ groups: [ProcessGroup]) throws { try Self.endOwnGroups(groups) }

    public static func endOwnGroups(_ groups: [ProcessGroup]) throws {
        let unended = groups.filter { !$0.end(ownedBy: getuid()) }
        if !unended.isEmpty {
            throw InstallError.upstream("Process groups \(unended.map { String($0.pgid) }.joined(separator: ", ")) of an interrupted operation would not end.")
        }
    }

    public func makeDirectory(_ path: String, mode: UInt16) throws { try InstallerFiles.makeDirectory(path, mode: mode) }
    public func move(_ from: String, to: String) throws { try InstallerFiles.move(from, to: to) }
    public func remove(_ path: String) throws { try InstallerFiles.remove(path) }
    public func write(_ bytes: [UInt8], to path: String) throws { try InstallerFiles.write(bytes, to: path) }
    public func grantRead(_ path: String) throws { InstallerFiles.grantRead(path) }
    public func list(_ path: String) throws -> [String] { InstallerFiles.list(path) }
    public func read(_ path: String) throws -> [UInt8]? { InstallerFiles.read(path) }
}

/// The installer's file operations on plugin trees: what `LocalInstaller` does, and what `plugind runner` does for
/// a job once it has checked the paths.
public enum InstallerFiles {
    public static func makeDirectory(_ path: String, mode: UInt16) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(mode)])
        chmod(path, mode_t(mode))
    }

    public static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw InstallError.noSpace("No space left to move \(from) into place.") }
            throw InstallError.upstream("Cannot move \(from) to \(to): \(String(cString: strerror(code))).")
        }
    }

    public static func remove(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    public static func grantRead(_ path: String) {
        ReadableTree.grant(path)
    }

    public static func list(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    public static func read(_ path: String) -> [UInt8]? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= 4 << 20 else { return nil }
        return FileManager.default.contents(atPath: path).map(Array.init)
    }
}
