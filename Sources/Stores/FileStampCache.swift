import Glibc
import Locking
import Synchronization

/// `FileStamp`s answered from memory while inotify reports nothing about their paths.
///
/// Cached answers check their inputs on every request (the agent config, the catalogue, the install
/// and ejected directories, the token file), and a `stat(2)` of a path costs about 2 µs on this
/// project's machines (a path walk behind a syscall), so the checks cost more than the answers.
/// Here one `ioctl(2)` (about 0.35 µs) tells whether anything watched has changed at all.
///
/// Each path is watched through its directory, for events on the path's own name (written,
/// attributes changed, created, removed, renamed to or from), and a directory also for itself
/// (entries added, removed or renamed; itself removed or moved). Any such event makes every cached
/// stamp stale. The kernel queues an event before the changing call returns, so a question asked
/// after a change has finished always sees it.
///
/// What inotify cannot see is covered by stat'ing anyway: a path that is itself a symbolic link (the
/// target lives elsewhere), a path whose directory cannot be watched, and every stamp older than
/// `maxAge` (for changes inotify never reports: another host writing to a network file system, a
/// symbolic link or an ancestor directory on the way re-pointed or swapped for another).
public final class FileStampCache: @unchecked Sendable {
    public static let shared = FileStampCache()

    /// The inotify descriptor (non-blocking); -1 when inotify is unavailable and every question stats.
    private let fd: Int32
    private let maxAgeNanoseconds: Int64
    /// Bumped by every relevant event: a cached stamp is good only for the generation it was taken in.
    private let generation = Atomic<UInt64>(0)
    /// Set while one thread reads the event queue, so another that finds the queue already empty
    /// waits for the bumps that emptied it.
    private let draining = Atomic<Bool>(false)
    private let drainLock = Locked(())
    private let state = Locked(State())
    /// How many times a path was stat'ed for an answer (tests check that hits cost none).
    private let statCalls = Atomic<Int>(0)
    var statCount: Int { statCalls.load(ordering: .relaxed) }

    private struct Entry {
        var generation: UInt64
        var stamp: FileStamp?
        var takenAt: Int64
    }

    private struct Watch {
        /// Entry names whose events matter; `whole` when every event in the directory does.
        var names: Set<String> = []
        var whole = false
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var watches: [Int32: Watch] = [:]
        /// Paths whose directory is watched for their name, and that watch.
        var nameWatch: [String: Int32] = [:]
        /// Directory paths watched for their entries, and that watch.
        var wholeWatch: [String: Int32] = [:]
        /// Paths that are stat'ed every time.
        var uncacheable: Set<String> = []
    }

    private static let nameEvents = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
    private static let selfEvents = UInt32(IN_DELETE_SELF | IN_MOVE_SELF)

    public init(maxAge: Duration = .seconds(1)) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        let parts = maxAge.components
        maxAgeNanoseconds = parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// `FileStamp(path:)`, from memory when nothing has happened to `path` since it was last stat'ed.
    public func stamp(_ path: String) -> FileStamp? {
        guard fd >= 0 else {
            statCalls.add(1, ordering: .relaxed)
            return FileStamp(path: path)
        }
        let current = sync()
        let now = Self.monotonicNanoseconds()
        if let hit = state.withLock({ $0.entries[path] }), hit.generation == current, now - hit.takenAt < maxAgeNanoseconds {
            return hit.stamp
        }
        statCalls.add(1, ordering: .relaxed)
        if state.withLock({ $0.uncacheable.contains(path) }) { return FileStamp(path: path) }
        // Stat afresh, with the watches that report its next change in place before the stat.
        guard watchName(path) else { return FileStamp(path: path) }
        let taken = generation.load(ordering: .sequentiallyConsistent)
        var info = stat()
        var found = stat(path, &info) == 0
        if found && (info.st_mode & S_IFMT) == S_IFDIR && state.withLock({ $0.wholeWatch[path] == nil }) {
            // A directory's stamp changes with its entries: watch it too, then stat once more, so an
            // entry added between the first stat and the watch is not missed.
            guard let descriptor = addWatch(path, name: nil) else { return FileStamp(path: path) }
            state.withLock { $0.wholeWatch[path] = descriptor }
            found = stat(path, &info) == 0
        }
        let stamp = found ? FileStamp(info) : nil
        state.withLock { $0.entries[path] = Entry(generation: taken, stamp: stamp, takenAt: now) }
        return stamp
    }

    /// Watches `path`'s directory for its name (once); false when `path` must be stat'ed every time:
    /// a symbolic link (its target changes elsewhere), or a path no directory on the way to can be
    /// watched. While `path`'s directory does not exist yet, the nearest one that does is watched for
    /// the next name on the way, and `path` is asked about again once that appears.
    private func watchName(_ path: String) -> Bool {
        if state.withLock({ $0.nameWatch[path] != nil }) { return true }
        var info = stat()
        let link = lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
        var child = path
        while !link {
            let name = Self.name(of: child)
            guard !name.isEmpty, name != ".", name != ".." else { break }
            let directory = Self.directory(of: child)
            guard let real = Self.realPath(directory) else {
                if directory == "/" || directory == "." { break }
                child = directory
                continue
            }
            guard let descriptor = addWatch(real, name: name) else { break }
            if child == path { state.withLock { $0.nameWatch[path] = descriptor } }
            return true
        }
        state.withLock { _ = $0.uncacheable.insert(path) }
        return false
    }

    /// Reads whatever events are queued; answers the generation every stamp must have been taken in.
    private func sync() -> UInt64 {
        var pending: Int32 = 0
        let queued = ioctl(fd, UInt(FIONREAD), &pending) != 0 || pending > 0
        if queued || draining.load(ordering: .sequentiallyConsistent) {
            drainLock.withLock { _ in
                draining.store(true, ordering: .sequentiallyConsistent)
                defer { draining.store(false, ordering: .sequentiallyConsistent) }
                drain()
            }
        }
        return generation.load(ordering: .sequentiallyConsistent)
    }

    private func drain() {
        withUnsafeTemporaryAllocation(byteCount: 16 << 10, alignment: MemoryLayout<inotify_event>.alignment) { buffer in
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = buffer.baseAddress!.advanced(by: offset).loadUnaligned(as: inotify_event.self)
                    let nameStart = buffer.baseAddress!.advanced(by: offset + MemoryLayout<inotify_event>.size)
                    let name = event.len > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : nil
                    handle(descriptor: event.wd, mask: event.mask, name: name)
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
        }
    }

    private func handle(descriptor: Int32, mask: UInt32, name: String?) {
        let relevant: Bool = state.withLock { state in
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { return true }
            guard let watch = state.watches[descriptor] else { return false }
            // The directory itself went away, moved or stopped being watched: forget its watch, so the
            // paths it served are watched afresh (wherever the path now leads) when next stat'ed.
            if mask & (Self.selfEvents | UInt32(IN_IGNORED)) != 0 {
                if mask & UInt32(IN_IGNORED) == 0 { inotify_rm_watch(fd, descriptor) }
                state.watches[descriptor] = nil
                state.nameWatch = state.nameWatch.filter { $0.value != descriptor }
                state.wholeWatch = state.wholeWatch.filter { $0.value != descriptor }
                return true
            }
            if watch.whole { return true }
            guard let name else { return false }
            return watch.names.contains(name)
        }
        if relevant { generation.add(1, ordering: .sequentiallyConsistent) }
    }

    /// Watches `directory` for `name`'s events, or (name nil) for every change of its entries.
    private func addWatch(_ directory: String, name: String?) -> Int32? {
        state.withLock { state in
            let mask = Self.nameEvents | Self.selfEvents | UInt32(IN_DONT_FOLLOW | IN_ONLYDIR) | UInt32(IN_MASK_ADD)
            let descriptor = inotify_add_watch(fd, directory, mask)
            guard descriptor >= 0 else { return nil }
            var watch = state.watches[descriptor] ?? Watch()
            if let name { watch.names.insert(name) } else { watch.whole = true }
            state.watches[descriptor] = watch
            return descriptor
        }
    }

    /// `path` with symbolic links, `.` and `..` resolved (a watch through a link would watch the link,
    /// not the directory); nil when it does not exist.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func name(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    private static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

extension FileStamp {
    /// This path's stamp as of now: from `FileStampCache.shared`, which stats only when the path may
    /// have changed.
    public static func current(_ path: String) -> FileStamp? {
        FileStampCache.shared.stamp(path)
    }
}
