import CCurl
import Foundation
import Glibc

/// The CPU and I/O priority a child process starts with.
///
/// npm, git and the builds they run are the heavy work of this server, and none of it is in a hurry the way a
/// page read is: a `GET` waiting behind an unpacking npm is a slower dashboard, an install a few per cent longer is
/// not noticed. So every child runs `background` unless its caller says otherwise: nice 10 (a tenth of the CPU
/// share of a worker thread when both want it) and the lowest best-effort I/O class level. Every process and
/// thread the child starts inherits both, down to npm's node and git's helpers. The child leads a session of its
/// own, lowered the same way where the kernel shares the CPU out by session (`lowerSession(of:)`).
public struct ChildPriority: Sendable, Hashable {
    /// The nice value the child starts with (0 is this server's own, 19 the lowest).
    public var niceness: Int32
    /// The best-effort I/O level (0 highest, 7 lowest); nil leaves the I/O priority as this server's.
    public var ioLevel: Int32?

    public init(niceness: Int32, ioLevel: Int32?) {
        self.niceness = niceness
        self.ioLevel = ioLevel
    }

    /// As this server runs (no change).
    public static let inherited = ChildPriority(niceness: 0, ioLevel: nil)
    /// What npm, git and their builds run at: behind every request this server answers.
    public static let background = ChildPriority(niceness: 10, ioLevel: 7)
}

extension ChildPriority {
    /// Lowers the calling process as a child would be: the runner, whose whole work is npm's and git's. Call it before
    /// the process starts a thread (threads take their nice value and I/O priority from the thread that starts them).
    /// Lowers its session too if it leads one (systemd and `scripts/run` start it so).
    public func lowerCurrentProcess() {
        PrioritySpawner.lowerCallingThread(to: self)
        if getsid(0) == getpid() { lowerSession(of: getpid()) }
    }

    /// Lowers the CPU share of the session `pid` leads, where the kernel shares the CPU out by session first
    /// (`kernel.sched_autogroup_enabled`, the default of desktop and many server kernels outside systemd's services):
    /// there a nice value counts only against the threads of the same session, and a child in a session of its own
    /// would otherwise weigh as much as this whole server. Its session is lowered to the child's nice value, which it
    /// may always be (raising it back is what needs privileges). The kernel takes one such change per 100 ms from
    /// unprivileged processes, so a busy moment is retried for up to 300 ms; without autogroups the file is absent
    /// and nothing is needed (the child's own nice value counts against everything else).
    func lowerSession(of pid: pid_t) {
        guard niceness > 0 else { return }
        let path = "/proc/\(pid)/autogroup"
        for _ in 0..<30 {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            let text = Array("\(niceness)".utf8)
            let written = text.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
            let failure = errno
            close(fd)
            guard written < 0, failure == EAGAIN else { return }
            usleep(10_000)
        }
    }
}

/// The threads children are spawned from, one per lowered priority, each running at that priority for good.
///
/// `posix_spawn` has no step that lowers the child's priority before `exec`, and lowering it from here after the
/// spawn races the child: node starts its threads within milliseconds, and each thread has its own nice value.
/// But a new process inherits the nice value and I/O priority of the thread that spawned it, so the spawn itself
/// runs on a thread that lowered its own (a thread may always lower its priority; it could not raise it back,
/// which is why this is not done on the caller's thread). The caller waits for the spawn (a millisecond or so);
/// the child's supervision stays on the caller's thread.
final class PrioritySpawner: @unchecked Sendable {
    private static let registry = NSLock()
    nonisolated(unsafe) private static var spawners: [ChildPriority: PrioritySpawner] = [:]

    /// The spawner for `priority`, started on first use.
    static func shared(_ priority: ChildPriority) -> PrioritySpawner {
        registry.lock()
        defer { registry.unlock() }
        if let spawner = spawners[priority] { return spawner }
        let spawner = PrioritySpawner(priority)
        spawners[priority] = spawner
        return spawner
    }

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init(_ priority: ChildPriority) {
        let thread = Thread { [self] in
            Self.lowerCallingThread(to: priority)
            self.serve()
        }
        thread.name = "child-spawner"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Lowers the calling thread's CPU and I/O priority (on Linux both belong to the thread, not the process).
    static func lowerCallingThread(to priority: ChildPriority) {
        if priority.niceness != 0 {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(plugind_gettid()), priority.niceness)
        }
        if let level = priority.ioLevel {
            _ = plugind_ioprio_set_self_best_effort(level)
        }
    }

    /// Runs `body` on this spawner's thread and returns its result.
    func run<T>(_ body: @escaping () -> T) -> T {
        let done = NSCondition()
        let box = ResultBox<T>()
        condition.lock()
        jobs.append {
            let value = body()
            done.lock()
            box.value = value
            done.signal()
            done.unlock()
        }
        condition.signal()
        condition.unlock()
        done.lock()
        while box.value == nil { done.wait() }
        done.unlock()
        return box.value!
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
