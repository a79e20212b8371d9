import Foundation
import Glibc
import Testing
@testable import Stores

/// The stamp cache answers from memory only while nothing happened to a path: every change made
/// before a question must show in its answer, whoever made it and however.
@Suite struct FileStampCacheTests {
    func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// Replaced the way plugind writes its files: a temporary file renamed over the old one.
    func replace(_ path: String, with text: String) throws {
        try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        #expect(rename(path + ".tmp", path) == 0)
    }

    @Test func aFileChangedInAnyWayIsStatedAgain() throws {
        let dir = temporaryDirectory()
        let path = dir + "/tokens.json"
        let cache = FileStampCache()
        #expect(cache.stamp(path) == nil)
        try write("one", to: path)
        #expect(cache.stamp(path) == FileStamp(path: path))
        let stats = cache.statCount
        for _ in 0..<5 { #expect(cache.stamp(path) == FileStamp(path: path)) }
        #expect(cache.statCount == stats, "unchanged: answered from memory")

        try write("two!", to: path)  // in place
        #expect(cache.stamp(path) == FileStamp(path: path))
        try replace(path, with: "three")
        #expect(cache.stamp(path) == FileStamp(path: path))
        #expect(chmod(path, 0o600) == 0)
        #expect(cache.stamp(path) == FileStamp(path: path))
        #expect(unlink(path) == 0)
        #expect(cache.stamp(path) == nil)
    }

    /// Other files in the same directory (the database beside the token file) cost no stat.
    @Test func neighboursDoNotMatter() throws {
        let dir = temporaryDirectory()
        let path = dir + "/tokens.json"
        try write("x", to: path)
        let cache = FileStampCache()
        let first = cache.stamp(path)
        let stats = cache.statCount
        for i in 0..<20 { try write("row \(i)", to: dir + "/state.db-wal") }
        #expect(cache.stamp(path) == first)
        #expect(cache.statCount == stats)
    }

    /// A directory's stamp follows its entries, also after the directory was removed and made again.
    @Test func directoriesFollowTheirEntries() throws {
        let root = temporaryDirectory()
        let dir = root + "/plugins"
        let cache = FileStampCache()
        #expect(cache.stamp(dir) == nil)
        #expect(mkdir(dir, 0o755) == 0)
        #expect(cache.stamp(dir) == FileStamp(path: dir))
        for name in ["a", "b"] {
            #expect(mkdir(dir + "/" + name, 0o755) == 0)
            #expect(cache.stamp(dir) == FileStamp(path: dir))
        }
        #expect(rename(dir + "/a", dir + "/c") == 0)
        #expect(cache.stamp(dir) == FileStamp(path: dir))
        try FileManager.default.removeItem(atPath: dir)
        #expect(cache.stamp(dir) == nil)
        #expect(mkdir(dir, 0o755) == 0)
        #expect(cache.stamp(dir) == FileStamp(path: dir))
        let before = FileStamp(path: dir)
        #expect(mkdir(dir + "/d", 0o755) == 0)
        #expect(FileStamp(path: dir) != before)
        #expect(cache.stamp(dir) == FileStamp(path: dir), "the new directory is watched too")
        // A directory renamed over the watched one.
        let other = root + "/other"
        #expect(mkdir(other, 0o755) == 0)
        #expect(mkdir(other + "/e", 0o755) == 0)
        try FileManager.default.removeItem(atPath: dir)
        #expect(rename(other, dir) == 0)
        #expect(cache.stamp(dir) == FileStamp(path: dir))
        #expect(mkdir(dir + "/f", 0o755) == 0)
        #expect(cache.stamp(dir) == FileStamp(path: dir))
    }

    /// A path whose directories do not exist yet (no plugin installed so far) is answered from memory
    /// too, and still follows them as they appear.
    @Test func missingDirectoriesOnTheWay() throws {
        let root = temporaryDirectory()
        let path = root + "/plugins/installed"
        let cache = FileStampCache()
        #expect(cache.stamp(path) == nil)
        let stats = cache.statCount
        #expect(cache.stamp(path) == nil)
        #expect(cache.statCount == stats, "answered from memory")
        #expect(mkdir(root + "/plugins", 0o755) == 0)
        #expect(cache.stamp(path) == nil)
        #expect(mkdir(path, 0o755) == 0)
        #expect(cache.stamp(path) == FileStamp(path: path))
        #expect(mkdir(path + "/x", 0o755) == 0)
        #expect(cache.stamp(path) == FileStamp(path: path))
        try FileManager.default.removeItem(atPath: root + "/plugins")
        #expect(cache.stamp(path) == nil)
        #expect(mkdir(root + "/plugins", 0o755) == 0)
        #expect(mkdir(path, 0o755) == 0)
        #expect(cache.stamp(path) == FileStamp(path: path))
    }

    /// A path that is a symbolic link changes where its target is: it is stat'ed every time. A path
    /// through a linked directory is watched where the directory really is.
    @Test func symbolicLinks() throws {
        let dir = temporaryDirectory()
        let target = dir + "/real.json"
        let link = dir + "/milady.json"
        try write("a", to: target)
        #expect(symlink(target, link) == 0)
        let linkedDir = dir + "/linked"
        #expect(symlink(dir, linkedDir) == 0)
        let through = linkedDir + "/../" + (dir as NSString).lastPathComponent + "/real.json"
        let cache = FileStampCache()
        #expect(cache.stamp(link) == FileStamp(path: link))
        var stats = cache.statCount
        #expect(cache.stamp(link) == FileStamp(path: link))
        #expect(cache.statCount == stats + 1)
        for path in [linkedDir + "/real.json", through] {
            #expect(cache.stamp(path) == FileStamp(path: target))
            stats = cache.statCount
            #expect(cache.stamp(path) == FileStamp(path: target))
            #expect(cache.statCount == stats, "\(path) answered from memory")
        }
        try write("bb", to: target)
        for path in [link, linkedDir + "/real.json", through] {
            #expect(cache.stamp(path) == FileStamp(path: target), "\(path)")
        }
    }

    /// Whatever inotify might not report is stat'ed again once the stamp is older than `maxAge`.
    @Test func oldStampsAreStatedAgain() throws {
        let dir = temporaryDirectory()
        let path = dir + "/catalogue.json"
        try write("x", to: path)
        let cache = FileStampCache(maxAge: .milliseconds(50))
        _ = cache.stamp(path)
        let stats = cache.statCount
        _ = cache.stamp(path)
        #expect(cache.statCount == stats)
        usleep(80_000)
        _ = cache.stamp(path)
        #expect(cache.statCount == stats + 1)
    }

    /// Readers on many threads while a writer keeps replacing the file: a question asked after a
    /// replacement returned never answers with an older stamp.
    @Test func concurrentReadersSeeEveryFinishedChange() async throws {
        let dir = temporaryDirectory()
        let path = dir + "/config.json"
        try write("0", to: path)
        let cache = FileStampCache()
        let stale = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<2_000 { _ = cache.stamp(path) }
                    return 0
                }
            }
            group.addTask {
                var stale = 0
                for i in 1...300 {
                    try? replace(path, with: String(repeating: "x", count: i))
                    if cache.stamp(path) != FileStamp(path: path) { stale += 1 }
                }
                return stale
            }
            return await group.reduce(0, +)
        }
        #expect(stale == 0)
    }
}
