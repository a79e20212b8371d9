import Glibc

/// What `stat(2)` says about a file that changes whenever its content or identity does: modification
/// time to the nanosecond, size and inode (a rename-into-place gives a new inode even within one tick).
/// Caches keyed on it re-read a file only when it changed.
public struct FileStamp: Hashable, Sendable, CustomStringConvertible {
    public let seconds: Int
    public let nanoseconds: Int
    public let size: Int
    public let inode: UInt64

    /// nil when the path cannot be stat'ed (missing, or not reachable).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    init(_ info: stat) {
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
        size = Int(info.st_size)
        inode = UInt64(info.st_ino)
    }

    public var description: String { "\(seconds).\(nanoseconds).\(size).\(inode)" }
}
