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
        /// `tok_` and 12 hex digits: random for tokens made since ids exist, derived from the hash for older ones.
        let id: String
        let label: String?
    }

    /// A stored token as an operator and the audit trail see it: never the token or its hash.
    public struct Identity: Sendable, Equatable {
        public let id: String
        public let role: Role
        public let label: String?
    }

    /// `tokens.json`: each token's id, role, label and the hex SHA-256 of it, in the order they were created.
    struct File: Encodable {
        struct Token: Encodable {
            let id: String
            let role: Role
            let label: String?
            let sha256: String

            // A token without a label has no `label` member (rather than null).
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: AnyKey.self)
                try container.encode(id, forKey: AnyKey("id"))
                try container.encode(role, forKey: AnyKey("role"))
                if let label { try container.encode(label, forKey: AnyKey("label")) }
                try container.encode(sha256, forKey: AnyKey("sha256"))
            }
        }

        let tokens: [Token]
    }

    public let path: String
    private let cache = Locked<(stamp: FileStamp?, entries: [Entry])?>(nil)

    public init(path: String) {
        self.path = path
    }

    /// A new random token for `role`, stored as a hash with a new id and `label`; with `replacing`, that role's other
    /// tokens stop working. A label that `validLabel` refuses is an error.
    public func create(role: Role, replacing: Bool = false, label: String? = nil) throws -> String {
        if let label, let problem = Self.labelProblem(label) { throw TokenLabelError(message: problem) }
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let token = "pld_" + Data(raw).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        var entries = try load()
        if replacing { entries.removeAll { $0.role == role } }
        let id = "tok_" + Self.hex((0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) })
        entries.append(Entry(role: role, hash: Self.hash(token), id: id, label: label))
        try save(entries)
        return token
    }

    /// The role of a presented token. Every stored hash is compared, each in constant time.
    public func role(of token: String) -> Role? {
        identity(of: token)?.role
    }

    /// The stored tokens, in the order they were created.
    public func list() throws -> [Identity] {
        try load().map { Identity(id: $0.id, role: $0.role, label: $0.label) }
    }

    /// Why `label` cannot label a token (nil: it can): 1 to 64 printable characters, no space at either end.
    public static func labelProblem(_ label: String) -> String? {
        let scalars = label.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= 64 else { return "A token label must be 1 to 64 characters long." }
        let unprintable = scalars.contains { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
            default: false
            }
        }
        if unprintable { return "A token label may hold only printable characters." }
        if label.first!.isWhitespace || label.last!.isWhitespace { return "A token label may not start or end with a space." }
        return nil
    }

    /// The id, role and label of a presented token. Every stored hash is compared, each in constant time.
    public func identity(of token: String) -> Identity? {
        guard token.hasPrefix("pld_"), token.utf8.count < 200 else { return nil }
        var text = token
        let digest = text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { presented in
            var found: Identity?
            for entry in current() where Self.constantTimeEqual(entry.hash, presented) {
                found = found ?? Identity(id: entry.id, role: entry.role, label: entry.label)
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
            let label = item["label"]?.stringValue.flatMap { Self.labelProblem($0) == nil ? $0 : nil }
            let id = item["id"]?.stringValue.flatMap { Self.isId($0) ? $0 : nil } ?? Self.derivedId(hash)
            return Entry(role: role, hash: hash, id: id, label: label)
        }
    }

    private func save(_ entries: [Entry]) throws {
        let document = try JSONEncoding.value(File(tokens: entries.map { File.Token(id: $0.id, role: $0.role, label: $0.label, sha256: Self.hex($0.hash)) }))
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

    /// The id of a token stored before tokens had ids: stable (from its hash), revealing nothing usable of it.
    static func derivedId(_ hash: [UInt8]) -> String {
        "tok_" + hex(Array(SHA256.hash(data: Array("plugind token id:".utf8) + hash).prefix(6)))
    }

    static func isId(_ text: String) -> Bool {
        text.utf8.count == 16 && text.hasPrefix("tok_") && text.utf8.dropFirst(4).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
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

/// A token label that cannot be used; the sentence says why.
public struct TokenLabelError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
