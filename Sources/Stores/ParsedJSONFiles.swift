import Foundation
import JSON
import Locking

/// JSON files parsed once per version of the file (its `FileStamp`): the package manifests that every build of the
/// plugin list and every `GET /api/plugins/installed` consults, which change only when a package is installed,
/// updated, synced or edited. Read afresh each time, they made every read cost grow with the plugins installed.
public final class ParsedJSONFiles: Sendable {
    public static let shared = ParsedJSONFiles()

    private struct Entry {
        let stamp: FileStamp
        let value: JSONValue
    }

    private let entries = Locked<[String: Entry]>([:])
    private let limit: Int

    /// `limit` files at most; when full, the next one replaces them all.
    public init(limit: Int = 4096) {
        self.limit = limit
    }

    /// The file at `path` parsed (nesting at most `maxDepth`); nil when it is missing, unreadable or not JSON.
    /// The stamp is taken before the file is read: a file that changes meanwhile is kept under the older stamp,
    /// so the next call reads it again.
    public func value(at path: String, maxDepth: Int = 64) -> JSONValue? {
        guard let stamp = FileStamp.current(path) else { return nil }
        if let hit = entries.withLock({ $0[path] }), hit.stamp == stamp { return hit.value }
        guard let data = FileManager.default.contents(atPath: path), let value = try? JSONParser.parse(Array(data), maxDepth: maxDepth)
        else {
            entries.withLock { $0[path] = nil }
            return nil
        }
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll() }
            entries[path] = Entry(stamp: stamp, value: value)
        }
        return value
    }
}
