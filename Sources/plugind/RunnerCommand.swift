import Adapters
import ArgumentParser
import Foundation
import Glibc
import Install
import Locking
import Operations
import Runner
import Stores

/// `plugind runner`: the installer identity's side. systemd (or `scripts/run`) starts it as the installer user;
/// it accepts only the jobs plugind needs — install a verified tree into a staging directory, run git with a fixed
/// set of subcommands or `npm run build` in a checkout, and create, move, write or remove paths under the plugin
/// root — one job per connection, and refuses any path outside `<state dir>/plugins`.
struct RunnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Run npm, git and builds for plugind as the installer user (jobs on a unix socket).")

    @Option(name: .customLong("state-dir"), help: "plugind's state directory; the runner works under its plugins/ only.")
    var stateDir: String

    @Option(help: "Create and listen on this unix socket (else the socket systemd passes as fd 3).")
    var socket: String?

    @Option(name: .customLong("socket-mode"), help: "Mode of a socket the runner creates (octal).")
    var socketMode: String = "0660"

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Its work is npm's, git's and builds': behind plugind's requests wherever it was started (the unit says so too).
        ChildPriority.background.lowerCurrentProcess()
        let layout = InstallLayout(stateDir: (stateDir as NSString).standardizingPath)
        let listener = try listen()
        let jobs = RunnerJobs(layout: layout, path: ProcessInfo.processInfo.environment["PATH"] ?? ChildProcess.defaultSearchPath)
        FileHandle.standardError.write(Data("plugind runner: serving jobs for \(layout.pluginsRoot) as uid \(getuid())\n".utf8))
        while true {
            let connection = accept(listener, nil, nil)
            if connection >= 0 { _ = fcntl(connection, F_SETFD, FD_CLOEXEC) }
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                throw ValidationError("accept failed: \(String(cString: strerror(errno)))")
            }
            Thread.detachNewThread { jobs.serve(connection) }
        }
    }

    private func listen() throws -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        if socket == nil, environment["LISTEN_FDS"] == "1", environment["LISTEN_PID"].flatMap(Int32.init) == getpid() {
            return 3
        }
        guard let path = socket else { throw ValidationError("Give --socket PATH, or start the runner through its systemd socket.") }
        guard let mode = mode_t(socketMode, radix: 8), mode & ~0o777 == 0 else { throw ValidationError("--socket-mode must be octal, like 0660.") }
        unlink(path)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard fd >= 0, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ValidationError("Cannot listen on \(path).") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previous)
        guard bound == 0, chmod(path, mode) == 0, Glibc.listen(fd, 64) == 0 else {
            throw ValidationError("Cannot listen on \(path): \(String(cString: strerror(errno))).")
        }
        return fd
    }
}

/// The runner's jobs: each checked, then done by a `LocalInstaller` as this process's user.
struct RunnerJobs: Sendable {
    let layout: InstallLayout
    let path: String

    /// git subcommands eject and sync use; nothing else is run.
    static let gitSubcommands: Set<String> = [
        "clone", "fetch", "checkout", "merge", "reset", "stash", "status", "rev-parse", "rev-list", "symbolic-ref", "branch", "diff",
        "cat-file", "ls-files",
    ]

    func serve(_ fd: Int32) {
        let output = Locked(fd)
        let children = JobChildren()
        defer {
            children.finish()
            close(fd)
        }
        var reader = RunnerSocket.LineReader(fd: fd)
        do {
            guard let line = try reader.next() else { return }
            let request = try JSONDecoder().decode(RunnerRequest.self, from: line)
            children.watch(fd)
            var reply = try perform(request, output: output, children: children)
            reply.done = true
            Self.send(reply, to: output)
        } catch {
            var reply = RunnerReply()
            reply.error = RunnerFailure(error)
            Self.send(reply, to: output)
        }
    }

    private func installer(_ request: RunnerRequest) throws -> LocalInstaller {
        guard let settings = request.settings else { throw InstallError.badRequest("The job carries no installer settings.") }
        let tokens = [settings.registry.token].compactMap { $0 } + settings.registry.scopes.values.compactMap(\.token)
        return LocalInstaller(settings: settings, layout: layout, path: path, scrubber: SecretScrubber(secrets: tokens))
    }

    private func perform(_ request: RunnerRequest, output: Locked<Int32>, children: JobChildren) throws -> RunnerReply {
        var reply = RunnerReply()
        switch request.job {
        case .installTree:
            guard let tree = request.tree else { throw InstallError.badRequest("The job names no tree.") }
            try allowed(tree.scratchPath)
            try allowed(tree.prefixPath)
            let progress = RunnerProgress(output: output, timeLeftMs: request.timeLeftMs ?? 60_000, children: children)
            reply.tree = try installer(request).installTree(tree, known: [:], progress: progress)
        case .run:
            guard let tool = request.tool, let arguments = request.arguments else { throw InstallError.badRequest("The job names no program.") }
            try check(tool, arguments, in: request.directory)
            reply.result = try installer(request).run(
                tool, arguments, in: request.directory, timeoutMs: request.timeoutMs ?? 60_000,
                onSpawn: { pid in
                    children.add(pid)
                    var started = RunnerReply()
                    started.started = pid
                    Self.send(started, to: output)
                })
        case .endGroups:
            // Groups an interrupted operation recorded: only this user's processes are ever signalled.
            try LocalInstaller.endOwnGroups(request.groups ?? [])
        case .makeDirectory:
            let path = try allowed(request.path)
            try InstallerFiles.makeDirectory(path, mode: (request.mode ?? 0o700) & 0o755)
        case .move:
            try InstallerFiles.move(try allowed(request.path), to: try allowed(request.to))
        case .remove:
            let path = try allowed(request.path)
            guard path != layout.pluginsRoot else { throw InstallError.badRequest("The plugin root itself is never removed.") }
            try InstallerFiles.remove(path)
        case .write:
            try InstallerFiles.write(Array(request.data ?? Data()), to: try allowed(request.path))
        case .grantRead:
            InstallerFiles.grantRead(try allowed(request.path))
        case .list:
            reply.names = InstallerFiles.list(try allowed(request.path))
        case .read:
            reply.data = InstallerFiles.read(try allowed(request.path)).map { Data($0) }
        }
        return reply
    }

    /// The path, standardised, when it lies under the plugin root (through no symbolic link); else a refusal.
    @discardableResult
    private func allowed(_ path: String?) throws -> String {
        guard let path, path.hasPrefix("/") else { throw InstallError.badRequest("The job names no absolute path.") }
        let standard = (path as NSString).standardizingPath
        let root = layout.pluginsRoot
        guard !path.split(separator: "/").contains(".."), standard == root || standard.hasPrefix(root + "/") else {
            throw InstallError.badRequest("plugind runner works only under \(root), not at \(path).")
        }
        // Every directory between the root and the path must be a directory, not a link out of it.
        var current = root
        for component in standard.dropFirst(root.count).split(separator: "/").dropLast() {
            current += "/" + component
            var info = stat()
            if lstat(current, &info) == 0, info.st_mode & S_IFMT != S_IFDIR {
                throw InstallError.badRequest("plugind runner does not follow \(current), which is not a directory.")
            }
        }
        return standard
    }

    private func check(_ tool: Tool, _ arguments: [String], in directory: String?) throws {
        if let directory { try allowed(directory) }
        switch tool {
        case .npm:
            guard arguments == ["run", "build"], directory != nil else {
                throw InstallError.badRequest("plugind runner runs npm only as `npm run build` in a checkout.")
            }
        case .git:
            guard let subcommand = arguments.first, Self.gitSubcommands.contains(subcommand) else {
                throw InstallError.badRequest("plugind runner does not run git \(arguments.first ?? "").")
            }
            if subcommand == "clone" { try allowed(arguments.last) } else if directory == nil {
                throw InstallError.badRequest("plugind runner runs git \(subcommand) only inside a checkout.")
            }
        }
    }

    static func send(_ reply: RunnerReply, to output: Locked<Int32>) {
        guard var data = try? JSONEncoder().encode(reply) else { return }
        data.append(0x0A)
        output.withLock { fd in try? RunnerSocket.writeAll(fd, data) }
    }
}

/// The process groups a job started. When plugind stops waiting for the job (it closed the connection, or died),
/// they are killed: nothing the job started goes on writing into directories that recovery is about to clean.
final class JobChildren: Sendable {
    private let state = Locked<(pids: [pid_t], finished: Bool)>(([], false))

    func add(_ pid: pid_t) {
        state.withLock { $0.pids.append(pid) }
    }

    func finish() {
        state.withLock { $0.finished = true }
    }

    /// Watches the connection: the client sends nothing after its request, so readable means it is gone.
    func watch(_ fd: Int32) {
        Thread.detachNewThread { [state] in
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while !state.withLock({ $0.finished }) {
                guard poll(&descriptor, 1, 250) > 0 else { continue }
                var byte: UInt8 = 0
                if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0 {
                    state.withLock { current in
                        guard !current.finished else { return }
                        for pid in current.pids { kill(-pid, SIGKILL) }
                    }
                    return
                }
            }
        }
    }
}

/// Progress of an install job, sent back as reply lines; the deadline is what plugind's operation had left.
final class RunnerProgress: TreeProgress, @unchecked Sendable {
    let output: Locked<Int32>
    let deadline: ContinuousClock.Instant
    let children: JobChildren

    init(output: Locked<Int32>, timeLeftMs: Int, children: JobChildren) {
        self.output = output
        self.deadline = .now + .milliseconds(max(1, timeLeftMs))
        self.children = children
    }

    func childStarted(_ pid: Int32) {
        children.add(pid)
        var reply = RunnerReply()
        reply.started = pid
        RunnerJobs.send(reply, to: output)
    }

    func phase(_ name: String, progress: Double?) {
        var reply = RunnerReply()
        reply.phase = name
        reply.progress = progress
        RunnerJobs.send(reply, to: output)
    }

    func log(_ line: String) {
        var reply = RunnerReply()
        reply.log = line
        RunnerJobs.send(reply, to: output)
    }

    func stepTimeoutMs(_ defaultMs: Int) -> Int {
        let left = ContinuousClock.now.duration(to: deadline).components
        return max(0, min(defaultMs, Int(left.seconds) * 1000 + Int(left.attoseconds / 1_000_000_000_000_000)))
    }

    func checkDeadline(_ step: String) throws {
        if ContinuousClock.now >= deadline { throw OperationError.deadlineExceeded(step: step) }
    }
}
