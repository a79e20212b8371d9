import Foundation
import Stores
import Synchronization

/// One tidy at a time, whichever install asked.
private let tidying = Atomic<Bool>(false)

extension InstallService {
    /// Bounds what installs leave behind, on a thread of its own so no request waits: the kept previous versions
    /// (`keptVersions`, the oldest kept go first) and npm's cache (`npmCacheMaxMiB`, emptied when larger).
    func tidyInBackground() {
        guard !tidying.exchange(true, ordering: .acquiring) else { return }
        let thread = Thread { [self] in
            defer { tidying.store(false, ordering: .releasing) }
            tidy()
        }
        thread.name = "install-tidy"
        thread.start()
    }

    func tidy() {
        let kept = (try? versions.allKept()) ?? []
        for old in kept.dropLast(policy.keptVersions) {
            try? versions.forgetKept(old.name)
            try? installer.remove(keptPath(old.installPath))
        }
        // npm's cache is content-addressed and refilled on demand: past the bound it goes as a whole, unless an
        // operation (npm itself may be writing to it) is running.
        guard let size = Self.treeSize(layout.npmCache), size > policy.npmCacheMaxBytes else { return }
        guard ((try? operations.store.list(state: .running, limit: 1)) ?? []).isEmpty else { return }
        do {
            try installer.remove(layout.npmCache)
            try installer.makeDirectory(layout.npmCache, mode: 0o700)
            logger.info("emptied npm's cache", metadata: ["bytes": "\(size)"])
        } catch {
            logger.warning("could not empty npm's cache", metadata: ["error": "\(error)"])
        }
    }

    /// The bytes under `path`, nil when plugind cannot read it (the installer's, through a runner).
    static func treeSize(_ path: String) -> Int64? {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return nil }
        var total: Int64 = 0
        while let entry = walker.nextObject() as? String {
            var info = stat()
            if lstat(path + "/" + entry, &info) == 0, info.st_mode & S_IFMT == S_IFREG { total += Int64(info.st_size) }
        }
        return total
    }
}
