import CCurl
import Glibc

/// One run of an executable in its own process group, with captured output and a timeout.
///
/// `run()` blocks its thread until the child and everything it started are gone: call it from an OS
/// worker thread, never from inside Swift concurrency. It is safe to run many at once from many threads.
/// The run owns its process group: on timeout the group gets SIGTERM, then SIGKILL after `terminationGrace`;
/// when the child exits, whatever it left running in its group is killed. The environment is exactly
/// `environment`: nothing is inherited from this process.
public struct ChildProcess: Sendable {
    /// Whether standard error is captured apart from standard output or interleaved with it.
    public enum OutputMode: Sendable {
        case separate
        case combined
    }

    /// An absolute or relative path, or a bare name looked up in `environment["PATH"]`.
    public var executable: String
    /// Arguments after argv[0] (which is `executable`).
    public var arguments: [String]
    /// The child's entire environment.
    public var environment: [String: String]
    /// The child's working directory; nil keeps this process's.
    public var workingDirectory: String?
    /// Bytes fed to the child's standard input, which is then closed; empty means /dev/null.
    public var standardInput: [UInt8]
    /// Wall-clock limit for the run; nil waits forever.
    public var timeout: Duration?
    /// Time between SIGTERM and SIGKILL once the timeout hits.
    public var terminationGrace: Duration
    /// The most bytes kept of each output stream (the tail is kept).
    public var outputLimit: Int
    /// Whether stderr is captured apart (`.separate`) or interleaved into stdout (`.combined`).
    public var outputMode: OutputMode
    /// Masks secrets in the captured output before it is returned.
    public var scrubber: SecretScrubber
    /// Told the child's pid (its process group) once it runs, e.g. to end the group when whoever waits for the
    /// result is gone.
    public var onSpawn: (@Sendable (pid_t) -> Void)?
    /// The CPU and I/O priority the child and everything it starts run at: behind this server's requests unless a
    /// caller says otherwise (see `ChildPriority`).
    public var priority: ChildPriority = .background

    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        standardInput: [UInt8] = [],
        timeout: Duration? = nil,
        terminationGrace: Duration = .seconds(2),
        outputLimit: Int = 1 << 20,
        outputMode: OutputMode = .separate,
        scrubber: SecretScrubber = SecretScrubber()
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.timeout = timeout
        self.terminationGrace = terminationGrace
        self.outputLimit = outputLimit
        self.outputMode = outputMode
        self.scrubber = scrubber
    }

    /// PATH used to find a bare executable name when `environment` has none.
    public static let defaultSearchPath = "/usr/local/bin:/usr/bin:/bin"

    /// Runs the child to completion (or timeout) and returns its status and scrubbed output.
    public func run() throws(ChildProcessError) -> ChildResult {
        let path = try resolvedExecutablePath()
        var pipes = OwnedDescriptors()
        defer { pipes.closeAll() }
        let stdout = try pipes.makePipe()
        let stderr = outputMode == .separate ? try pipes.makePipe() : nil
        let stdin = standardInput.isEmpty ? nil : try pipes.makePipe()

        let clock = ContinuousClock()
        let start = clock.now
        let (stdinRead, stdoutWrite, stderrWrite) = (stdin?.read, stdout.write, stderr?.write ?? stdout.write)
        let pid: pid_t
        if priority == .inherited {
            pid = try spawn(path: path, stdin: stdinRead, stdout: stdoutWrite, stderr: stderrWrite)
        } else {
            // Spawned from a thread that runs at the child's priority, so the child starts there (see PrioritySpawner).
            pid = try PrioritySpawner.shared(priority).run { () -> Result<pid_t, ChildProcessError> in
                Result { () throws(ChildProcessError) in
                    try self.spawn(path: path, stdin: stdinRead, stdout: stdoutWrite, stderr: stderrWrite, ownSession: true)
                }
            }.get()
            priority.lowerSession(of: pid)
        }
        onSpawn?(pid)
        // The parent keeps only its ends, so end-of-file arrives once the child's side is gone.
        pipes.close(stdout.write)
        if let stderr { pipes.close(stderr.write) }
        if let stdin { pipes.close(stdin.read) }

        var supervisor = Supervisor(
            pid: pid, clock: clock, start: start, timeout: timeout, grace: terminationGrace,
            outputLimit: outputLimit, standardInput: standardInput)
        let outcome = try supervisor.supervise(
            outputs: [stdout.read, stderr?.read].compactMap { $0 }, stdin: stdin?.write, descriptors: &pipes)
        let duration = start.duration(to: clock.now)

        var buffers = outcome.buffers
        let stdoutText = text(of: &buffers[0])
        let stderrText = buffers.count > 1 ? text(of: &buffers[1]) : ""
        return ChildResult(
            exitCode: outcome.exitCode, signal: outcome.signal, timedOut: outcome.timedOut,
            stdout: stdoutText, stderr: stderrText,
            stdoutTruncated: buffers[0].isTruncated, stderrTruncated: buffers.count > 1 && buffers[1].isTruncated,
            duration: duration)
    }

    private func text(of buffer: inout TailBuffer) -> String {
        let bytes = buffer.finish()
        let scrubbed = buffer.isTruncated ? scrubber.scrub(truncatedTail: bytes) : scrubber.scrub(bytes: bytes)
        return String(decoding: scrubbed, as: UTF8.self)
    }

    // MARK: - Spawning

    /// Finds a bare name in the child's own PATH, as the child's environment (not ours) defines the search.
    private func resolvedExecutablePath() throws(ChildProcessError) -> String {
        if executable.contains("/") { return executable }
        let searchPath = environment["PATH"] ?? Self.defaultSearchPath
        for directory in searchPath.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/\(executable)"
            var info = stat()
            if stat(candidate, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw .executableNotFound(name: executable)
    }

    private func spawn(path: String, stdin: Int32?, stdout: Int32, stderr: Int32, ownSession: Bool = false) throws(ChildProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var results: [Int32] = []
        if let stdin {
            results.append(posix_spawn_file_actions_adddup2(&actions, stdin, STDIN_FILENO))
        } else {
            results.append(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0))
        }
        results.append(posix_spawn_file_actions_adddup2(&actions, stdout, STDOUT_FILENO))
        results.append(posix_spawn_file_actions_adddup2(&actions, stderr, STDERR_FILENO))
        if let workingDirectory {
            results.append(plugind_spawn_addchdir(&actions, workingDirectory))
        }
        // Descriptors that some library opened without O_CLOEXEC must not leak into the child.
        results.append(plugind_spawn_addclosefrom(&actions, 3))

        // Own process group (pgid = child pid) so the timeout can kill everything the child starts. A lowered child
        // gets a session of its own too (its process group is then the same), so that where the kernel shares the
        // CPU out by session (autogroups), its session can be lowered as a whole (see ChildPriority).
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownSession {
            flags |= PLUGIND_POSIX_SPAWN_SETSID
        } else {
            flags |= POSIX_SPAWN_SETPGROUP
            results.append(posix_spawnattr_setpgroup(&attributes, 0))
        }
        results.append(posix_spawnattr_setflags(&attributes, Int16(flags)))
        // The child starts with no blocked signals and default handlers, whatever this server set up.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        results.append(posix_spawnattr_setsigmask(&attributes, &noSignals))
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        results.append(posix_spawnattr_setsigdefault(&attributes, &allSignals))
        if let failure = results.first(where: { $0 != 0 }) {
            throw .systemCallFailed(call: "posix_spawn setup", errno: failure)
        }

        let argv = CStringArray([executable] + arguments)
        let envp = CStringArray(environment.filter { !$0.key.isEmpty && !$0.key.contains("=") }
            .map { "\($0.key)=\($0.value)" }.sorted())
        defer {
            argv.free()
            envp.free()
        }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &actions, &attributes, argv.pointers, envp.pointers)
        guard result == 0 else { throw .spawnFailed(executable: executable, errno: result) }
        return pid
    }
}
