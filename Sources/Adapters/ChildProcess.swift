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
        let pid = try spawn(path: path, stdin: stdin?.read, stdout: stdout.write, stderr: stderr?.write ?? stdout.write)
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

    private func spawn(path: String, stdin: Int32?, stdout: Int32, stderr: Int32) throws(ChildProcessError) -> pid_t {
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

        // Own process group (pgid = child pid) so the timeout can kill everything the child starts.
        let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        results.append(posix_spawnattr_setflags(&attributes, Int16(flags)))
        results.append(posix_spawnattr_setpgroup(&attributes, 0))
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

// MARK: - Supervision

/// The poll loop of one run: feeds stdin, drains both outputs at once (so neither pipe can fill and block
/// the child), notices the child's exit without reaping it, and escalates signals to the process group.
private struct Supervisor {
    struct Outcome {
        var buffers: [TailBuffer]
        var exitCode: Int32?
        var signal: Int32?
        var timedOut: Bool
    }

    /// How long output may stay open after the group was killed (a member that left the group may hold it).
    static let linger: Duration = .seconds(1)
    /// How often the child's exit is checked while its output is still open.
    static let exitCheckInterval: Duration = .milliseconds(100)

    let pid: pid_t
    let clock: ContinuousClock
    let deadline: ContinuousClock.Instant?
    let grace: Duration
    let outputLimit: Int
    let standardInput: [UInt8]

    private var timedOut = false
    private var killed = false
    private var leaderExited = false
    private var graceDeadline: ContinuousClock.Instant?
    private var lingerDeadline: ContinuousClock.Instant?

    init(
        pid: pid_t, clock: ContinuousClock, start: ContinuousClock.Instant, timeout: Duration?, grace: Duration,
        outputLimit: Int, standardInput: [UInt8]
    ) {
        self.pid = pid
        self.clock = clock
        self.deadline = timeout.map { start + $0 }
        self.grace = grace
        self.outputLimit = outputLimit
        self.standardInput = standardInput
    }

    mutating func supervise(
        outputs: [Int32], stdin: Int32?, descriptors: inout OwnedDescriptors
    ) throws(ChildProcessError) -> Outcome {
        var open: [Int32?] = outputs
        var buffers = outputs.map { _ in TailBuffer(limit: outputLimit) }
        var stdinFD = stdin
        var stdinOffset = 0
        for fd in outputs + [stdin].compactMap({ $0 }) {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        // A child that exits without reading its input must not kill this server with SIGPIPE.
        let sigpipeGuard = stdin == nil ? nil : SIGPIPEGuard()
        defer { sigpipeGuard?.restore() }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        defer { chunk.deallocate() }

        while true {
            advanceState()
            let outputOpen = open.contains { $0 != nil }
            if leaderExited && !outputOpen { break }
            if let lingerDeadline, clock.now >= lingerDeadline { break }

            var pollSet: [pollfd] = open.compactMap { $0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let stdinFD { pollSet.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if pollSet.isEmpty {
                waitWithoutOutput()
                continue
            }
            let ready = poll(&pollSet, nfds_t(pollSet.count), nextWakeMilliseconds(slice: Self.exitCheckInterval))
            if ready < 0 {
                if errno == EINTR { continue }
                let code = errno
                signalGroup(SIGKILL)
                _ = reap()
                throw .systemCallFailed(call: "poll", errno: code)
            }
            for entry in pollSet where entry.revents != 0 {
                if entry.fd == stdinFD {
                    if feed(entry.fd, offset: &stdinOffset) {
                        descriptors.close(entry.fd)
                        stdinFD = nil
                    }
                } else if let slot = open.firstIndex(of: entry.fd) {
                    let count = read(entry.fd, chunk.baseAddress, chunk.count)
                    if count > 0 {
                        buffers[slot].append(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
                    } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        descriptors.close(entry.fd)
                        open[slot] = nil
                    }
                }
            }
        }
        let status = reap()
        return Outcome(buffers: buffers, exitCode: status.exitCode, signal: status.signal, timedOut: timedOut)
    }

    /// Notices exit, the timeout and the end of the grace period, and signals the group accordingly.
    private mutating func advanceState() {
        if !leaderExited { leaderExited = hasExited() }
        let now = clock.now
        if leaderExited && !killed {
            // The run owns its group: nothing the child left behind outlives it.
            signalGroup(SIGKILL)
            killed = true
            lingerDeadline = now + Self.linger
        }
        if !timedOut && !leaderExited, let deadline, now >= deadline {
            timedOut = true
            signalGroup(SIGTERM)
            graceDeadline = now + grace
        }
        if timedOut && !killed, let graceDeadline, now >= graceDeadline {
            signalGroup(SIGKILL)
            killed = true
            lingerDeadline = now + Self.linger
        }
    }

    /// With every output closed only the exit is awaited: block on it when no deadline is pending, else sleep briefly.
    private mutating func waitWithoutOutput() {
        if deadline == nil || killed {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
                if errno != EINTR { break }  // ECHILD: reaped elsewhere, so it has exited too
            }
            leaderExited = true
        } else {
            _ = poll(nil, 0, nextWakeMilliseconds(slice: .milliseconds(10)))
        }
    }

    /// Milliseconds until the next deadline, but no more than `slice`.
    private func nextWakeMilliseconds(slice: Duration) -> Int32 {
        let now = clock.now
        var wake = slice
        for instant in [timedOut ? nil : deadline, killed ? nil : graceDeadline, lingerDeadline].compactMap({ $0 }) {
            wake = min(wake, now.duration(to: instant))
        }
        let (seconds, attoseconds) = wake.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, milliseconds))
    }

    /// Writes what the pipe takes of the remaining input; true once the input is done or the child stopped reading.
    private func feed(_ fd: Int32, offset: inout Int) -> Bool {
        let written = standardInput.withUnsafeBytes { bytes in
            write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        }
        if written < 0 {
            return errno != EAGAIN && errno != EINTR
        }
        offset += written
        return offset >= standardInput.count
    }

    /// Whether the child has exited, without reaping it: its pid then still pins the group id against reuse.
    private func hasExited() -> Bool {
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 {
            return errno == ECHILD  // someone else reaped it (SIGCHLD ignored): nothing left to wait for
        }
        return info._sifields._sigchld.si_pid != 0
    }

    private func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    private func reap() -> (exitCode: Int32?, signal: Int32?) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return (nil, nil) }
        }
        let low = status & 0x7F
        if low == 0 { return ((status >> 8) & 0xFF, nil) }
        return (nil, low)
    }
}

// MARK: - Descriptors

/// The pipe ends a run owns; whatever is still open when it ends gets closed.
private struct OwnedDescriptors {
    private var descriptors: Set<Int32> = []

    /// A close-on-exec pipe whose ends are numbered 3 or above, so dup2 onto 0–2 in the child never collides.
    mutating func makePipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard plugind_pipe_cloexec(&fds) == 0 else { throw .systemCallFailed(call: "pipe2", errno: errno) }
        for index in fds.indices where fds[index] < 3 {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, 3)
            let code = errno
            Glibc.close(fds[index])
            fds[index] = moved
            guard moved >= 0 else {
                fds.filter { $0 >= 0 }.forEach { _ = Glibc.close($0) }
                throw .systemCallFailed(call: "fcntl", errno: code)
            }
        }
        descriptors.formUnion(fds)
        return (fds[0], fds[1])
    }

    mutating func close(_ fd: Int32) {
        if descriptors.remove(fd) != nil { _ = Glibc.close(fd) }
    }

    mutating func closeAll() {
        for fd in descriptors { _ = Glibc.close(fd) }
        descriptors = []
    }
}

/// A NULL-terminated array of C strings for argv and envp.
private struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointers[index] = strdup(string)
        }
        pointers[strings.count] = nil
    }

    func free() {
        var index = 0
        while let string = pointers[index] {
            Glibc.free(string)
            index += 1
        }
        pointers.deallocate()
    }
}

/// Blocks SIGPIPE on this thread while writing to a child's stdin, then discards any SIGPIPE those writes raised.
private struct SIGPIPEGuard {
    private var previousMask = sigset_t()

    init() {
        var block = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &block, &previousMask)
    }

    func restore() {
        var previous = previousMask
        // If SIGPIPE was already blocked, a pending one is not ours to discard.
        guard sigismember(&previous, SIGPIPE) == 0 else { return }
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var noWait = timespec()
            _ = sigtimedwait(&pipeOnly, nil, &noWait)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
