import Crypto
import Foundation

/// What the agent loads from an ejected copy: its files (build output included; `node_modules`, `.git` and plugind's
/// own `.upstream.json` left out), as one SHA-256 over their paths and contents in path order.
enum BuildFingerprint {
    static func of(_ repo: String) -> String {
        var hasher = SHA256()
        var paths: [String] = []
        if let walker = FileManager.default.enumerator(atPath: repo) {
            while let relative = walker.nextObject() as? String {
                let top = relative.split(separator: "/").first.map(String.init) ?? relative
                if top == ".git" || top == "node_modules" || relative == ".upstream.json" {
                    walker.skipDescendants()
                    continue
                }
                paths.append(relative)
            }
        }
        for relative in paths.sorted() {
            var info = stat()
            guard lstat(repo + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            hasher.update(data: Data(relative.utf8))
            hasher.update(data: Data([0]))
            if let data = FileManager.default.contents(atPath: repo + "/" + relative) { hasher.update(data: data) }
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
