import Crypto
import Foundation
import Glibc
import JSON
import Locking

/// The agent's JSON config file (Milady-compatible). Every write is a fresh read-modify-write under
/// an exclusive cross-process lock, written to a temp file, fsynced and renamed into place.
/// Keys plugind does not own keep their place and their number literals.
public final class AgentConfigFile: Sendable {
    public let path: String
    /// The group that may read the file (the agent runtime's): the file is then 0640 with that group, else 0600.
    public let readerGroup: gid_t?
    private var lockPath: String { path + ".lock" }
    /// Told before and after every write (the audit trail's intent entries); none until `keepJournal`.
    private let journal = Locked<(any AgentConfigJournal)?>(nil)
    /// Prepares for every write that brings no preparation of its own; none until `prepareEveryWrite`.
    private let preparing = Locked<(@Sendable (JSONObject, FileStamp) -> Void)?>(nil)
    /// The last document `current()` parsed, and the version of the file it came from.
    private let parsed = Locked<(stamp: FileStamp, document: JSONObject)?>(nil)

    public init(path: String, readerGroup: gid_t? = nil) {
        self.path = path
        self.readerGroup = readerGroup
    }

    /// Gives an existing file the reader group's access (0640, that group), or keeps it private (0600) without one.
    /// Run at start, so a file written before the setting, or copied in, is readable by the runtime.
    public func applyReaderAccess() throws(StoreError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if let readerGroup, chown(path, uid_t.max, readerGroup) != 0 { throw Self.ioError(path: path) }
        guard chmod(path, readerGroup == nil ? 0o600 : 0o640) == 0 else { throw Self.ioError(path: path) }
    }

    /// The current document; a missing file reads as `{}`.
    public func read() throws(StoreError) -> JSONObject {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw .configIO(path: path, reason: "permission denied")
            }
            return JSONObject()
        }
        return try parse(Array(data))
    }

    /// The current document for answers that only read it: parsed once per version of the file (its
    /// `FileStamp`, taken before the read, so a file changed meanwhile is read again next time). Writers
    /// read afresh under the lock (`update`). A missing file reads as `{}`, as with `read()`.
    public func current() throws(StoreError) -> JSONObject {
        guard let stamp = FileStamp.current(path) else { return try read() }
        if let hit = parsed.withLock({ $0 }), hit.stamp == stamp { return hit.document }
        let document = try read()
        parsed.withLock { $0 = (stamp, document) }
        return document
    }

    /// Changes whenever the file does (for caches keyed on it); nil when there is no file.
    public func modificationStamp() -> String? {
        FileStamp.current(path)?.description
    }

    private func parse(_ bytes: [UInt8]) throws(StoreError) -> JSONObject {
        if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return JSONObject() }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxDepth: 256)
        } catch {
            throw .configUnparsable(path: path, reason: error.description)
        }
        guard case .object(let object) = value else {
            throw .configUnparsable(path: path, reason: "the top level is \(value.kindName), not an object")
        }
        if object.contains("$include") {
            throw .configUnparsable(path: path, reason: "it uses $include")
        }
        return object
    }

    /// What a writer builds and keeps from the new document before the file is replaced: called with the document
    /// and the `FileStamp` the file will have (the new file is complete and synced; a rename keeps its inode, size
    /// and time), just before the rename. Answers kept under the new stamp are ready before any reader can see that
    /// stamp; if the rename then fails, they are kept under a stamp no reader will ever ask for.
    public typealias Preparation = (_ document: JSONObject, _ stamp: FileStamp) -> Void

    /// Reads the file under the lock, lets `change` edit it, and writes it back only if it changed.
    /// Nothing is written when `change` throws. `prepare` (else the one `prepareEveryWrite` gave) runs only when the
    /// file is written.
    @discardableResult
    public func update<T>(_ change: (inout JSONObject) throws -> T, prepare: Preparation? = nil) throws -> T {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw StoreError.configIO(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { close(lockFD) }  // closing releases the flock
        while flock(lockFD, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError.configIO(path: lockPath, reason: String(cString: strerror(errno))) }
        }
        let original = try read()
        var document = original
        let result = try change(&document)
        if document != original {
            var chosen = prepare
            if chosen == nil, let everyWrite = preparing.withLock({ $0 }) { chosen = { everyWrite($0, $1) } }
            try write(document, replacing: original, prepare: chosen)
        }
        return result
    }

    private func write(_ document: JSONObject, replacing original: JSONObject, prepare: Preparation?) throws {
        let text = JSONWriter.pretty(.object(document)) + "\n"
        let journal = journal.withLock { $0 }
        try journal?.willWrite(from: original, to: document, hash: Self.sha256(Array(text.utf8)))
        var renamed = false
        defer { journal?.didWrite(renamed) }
        let directory = (path as NSString).deletingLastPathComponent
        let temp = (directory as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Self.ioError(path: temp) }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        // The runtime reads the agent config (plugins need their settings) through its group, and nothing else.
        if let readerGroup {
            guard fchown(fd, uid_t.max, readerGroup) == 0, fchmod(fd, 0o640) == 0 else {
                let error = Self.ioError(path: temp)
                close(fd)
                throw error
            }
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let error = Self.ioError(path: path)
                close(fd)
                throw error
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let error = Self.ioError(path: path)
            close(fd)
            throw error
        }
        // The stamp the file will have once renamed into place (a rename keeps inode, size and time).
        var info = stat()
        let newStamp = fstat(fd, &info) == 0 ? FileStamp(info) : nil
        close(fd)
        // Before the rename: kept under a stamp no reader can see until the file is in place, the answers are there
        // for the first reader that does. Kept after it, the readers in between (most writes had some, under load)
        // built them again.
        if let newStamp { prepare?(document, newStamp) }
        guard rename(temp, path) == 0 else { throw Self.ioError(path: path) }
        ok = true
        renamed = true
        // Readers of `current()` get the document just written without parsing it again.
        if let newStamp { parsed.withLock { $0 = (newStamp, document) } }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Has every later write that brings no preparation of its own prepared by `preparation`: whoever keeps answers
    /// made from the file's versions has them ready for each new version, whichever service writes it (a settings
    /// change, an install, an uninstall, an eject, a core toggle).
    public func prepareEveryWrite(with preparation: @escaping @Sendable (JSONObject, FileStamp) -> Void) {
        preparing.withLock { $0 = preparation }
    }

    /// Hands every later write to `journal` before and after it happens.
    public func keepJournal(_ journal: any AgentConfigJournal) {
        self.journal.withLock { $0 = journal }
    }

    /// The SHA-256 (hex) of the file as it is now; nil when there is none (or it cannot be read).
    public func currentHash() -> String? {
        FileManager.default.contents(atPath: path).map { Self.sha256(Array($0)) }
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Removes temp files a killed writer left beside the config (copies of it, secrets included).
    /// Only those of dead processes: a live writer's temp file is about to be renamed.
    public func removeAbandonedTempFiles() {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = ".\((path as NSString).lastPathComponent).tmp-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).split(separator: "-").first ?? "") else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    static func ioError(path: String) -> StoreError {
        if errno == ENOSPC || errno == EDQUOT { return .noSpace(path: path) }
        return .configIO(path: path, reason: String(cString: strerror(errno)))
    }
}

/// Told of each write of the agent config, under its lock: before (the intent: what changes and the hash of the
/// bytes about to be in place) and after (whether the new file replaced the old one). A `willWrite` that throws stops
/// the write. The audit trail keeps its entries consistent with the file this way, through a SIGKILL at any point.
public protocol AgentConfigJournal: Sendable {
    func willWrite(from old: JSONObject, to new: JSONObject, hash: String) throws
    func didWrite(_ replaced: Bool)
}
