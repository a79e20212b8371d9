import Foundation
import Glibc

/// Plugin trees are read by the agent runtime, which runs as its own user: every directory under a tree gets
/// `a+rx` and every file `a+r` (and `a+x` where its owner may execute it), like `chmod -R a+rX`. Symbolic links
/// are left alone (and never followed). Who can reach the tree at all is decided by the directories above it.
public enum ReadableTree {
    public static func grant(_ root: String) {
        var info = stat()
        guard lstat(root, &info) == 0 else { return }
        widen(root, info)
        guard info.st_mode & S_IFMT == S_IFDIR, let walker = FileManager.default.enumerator(atPath: root) else { return }
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            if lstat(path, &info) == 0 { widen(path, info) }
        }
    }

    private static func widen(_ path: String, _ info: stat) {
        let mode = info.st_mode & 0o7777
        var wanted = mode
        switch info.st_mode & S_IFMT {
        case S_IFDIR: wanted |= 0o555
        case S_IFREG: wanted |= mode & 0o100 != 0 ? 0o555 : 0o444
        default: return
        }
        if wanted != mode { chmod(path, wanted) }
    }
}
