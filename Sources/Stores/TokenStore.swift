import Crypto
import Foundation
import JSON
import Locking

/// Bearer tokens: only their SHA-256 hashes are kept (`tokens.json`, mode 0600).
/// The file is re-read when it changes, so a rotation takes effect without a restart.
public final class TokenStore: Sendable {
    public enum Role: String, Sendable, CaseIterable, Encodable {
        case admin
        case read
    }

    struct Entry: Sendable {
        let role: Role
        let hash: [UInt8]
    }

    /// `tokens.json`: each token's role and the hex SHA-256 of it, in the order they were created.
    struct File: Encodable {
        struct Token: Encodable {
            let role: Role
            let sha256: String
        }

        let tokens: [Token]
    }

    public let path: String
    private let cache = Locked<(stamp: FileStamp?, entries: [Entry])?>(nil)

    public init(path: String) {
        self.path = path
    }

    /// A new random token for `role`, stored as a hash; with `replacing`, that role's other tokens stop working.
    public func create(role: Role, replacing: Bool = false) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let token = "pld_" + Data(raw).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        var entries = try load()
        if replacing { entries.removeAll { $0.role == role } }
        entries.append(Entry(role: role, hash: Self.hash(token)))
        try save(entries)
        return token
    }

    /// The role of a presented token. Every stored hash is compared, each in constant time.
    public func role(of token: String) -> Role? {
        guard token.hasPrefix("pld_"), token.utf8.count < 200 else { return nil }
        var text = token
        let digest = text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { presented in
            var found: Role?
            for entry in current() where Self.constantTimeEqual(entry.hash, presented) {
                found = found ?? entry.role
            }
            return found
        }
    }

    public var isEmpty: Bool { current().isEmpty }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    static func constantTimeEqual(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { constantTimeEqual(a, $0) }
    }

    private func current() -> [Entry] {
        let now = FileStamp.current(path)
        if let hit = cache.withLock({ $0.flatMap { $0.stamp == now ? $0.entries : nil } }) { return hit }
        let entries = (try? load()) ?? []
        cache.withLock { $0 = (now, entries) }
        return entries
    }

    private func load() throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        guard let document = try? JSONParser.parse(Array(data)), let list = document["tokens"]?.arrayValue else {
            throw StoreError.configIO(path: path, reason: "the token file is not in the expected format")
        }
        return list.compactMap { item in
            guard let role = item["role"]?.stringValue.flatMap(Role.init), let hex = item["sha256"]?.stringValue,
                let hash = Self.bytes(hex: hex), hash.count == 32
            else { return nil }
            return Entry(role: role, hash: hash)
        }
    }

    private func save(_ entries: [Entry]) throws {
        let document = try JSONEncoding.value(File(tokens: entries.map { File.Token(role: $0.role, sha256: Self.hex($0.hash)) }))
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: Data((JSONWriter.pretty(document) + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StoreError.configIO(path: path, reason: "cannot write \(temp)")
        }
        // `plugind token create` run as root for a state directory that is plugind's own user's: the file stays
        // plugind's, or the running plugind could no longer read any token.
        var owner = stat()
        if geteuid() == 0, stat(directory, &owner) == 0, owner.st_uid != 0 {
            chown(temp, owner.st_uid, owner.st_gid)
        }
        guard rename(temp, path) == 0 else { throw StoreError.configIO(path: path, reason: String(cString: strerror(errno))) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2 {
            guard let b = UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
            chars = chars.dropFirst(2)
        }
        return chars.isEmpty ? out : nil
    }
}
