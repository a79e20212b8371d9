import Glibc

/// The poll loop of one run: feeds stdin, drains both outputs at once (so neither pipe can fill and block
/// the child), notices the child's exit without reaping it, and escalates signals to the process group.
struct Supervisor {
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
