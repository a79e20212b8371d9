/// Masks secrets in text that leaves the service.
///
/// Three passes, in this order: every known secret value, then URL credentials
/// (`scheme://user:pass@host` becomes `scheme://****@host`), then the values of
/// credential-bearing keys (`_authToken=…`, `_auth=…`, `_password=…`, `Authorization: Bearer …`).
/// Matching works on UTF-8 bytes, so any text, including invalid UTF-8 output, can be scrubbed.
public struct SecretScrubber: Sendable, Equatable {
    /// What every secret is replaced with.
    public static let mask = "****"
    /// Secrets shorter than this are ignored: masking them would shred ordinary text.
    public static let minimumSecretLength = 4

    /// Known secrets grouped by first byte, longest first, so the longest match wins at each position.
    private let secretsByFirstByte: [UInt8: [[UInt8]]]

    /// A scrubber that knows no secret values; it still masks URL credentials and token patterns.
    public init() {
        self.secretsByFirstByte = [:]
    }

    /// A scrubber for the given secret values; values shorter than `minimumSecretLength` are skipped.
    public init(secrets: some Sequence<String>) {
        var buckets: [UInt8: [[UInt8]]] = [:]
        for secret in Set(secrets) where secret.utf8.count >= Self.minimumSecretLength {
            let bytes = Array(secret.utf8)
            buckets[bytes[0], default: []].append(bytes)
        }
        for key in buckets.keys {
            buckets[key]!.sort { $0.count > $1.count }
        }
        self.secretsByFirstByte = buckets
    }

    /// The known secret values (order unspecified).
    public var secrets: [String] {
        secretsByFirstByte.values.flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A scrubber that also masks `more`.
    public func adding(_ more: some Sequence<String>) -> SecretScrubber {
        SecretScrubber(secrets: secrets + Array(more))
    }

    /// `text` with every secret, URL credential and token value replaced by `mask`.
    public func scrub(_ text: String) -> String {
        String(decoding: scrub(bytes: Array(text.utf8)), as: UTF8.self)
    }

    /// The byte-level form of `scrub(_:)`.
    public func scrub(bytes: [UInt8]) -> [UInt8] {
        let withoutSecrets = secretsByFirstByte.isEmpty ? bytes : maskKnownSecrets(in: bytes)
        return Self.maskCredentialKeys(in: Self.maskURLCredentials(in: withoutSecrets))
    }

    /// Scrubs the kept tail of a truncated output: the cut may have left the end of a secret at the front.
    func scrub(truncatedTail bytes: [UInt8]) -> [UInt8] {
        scrub(bytes: maskLeadingSecretFragment(in: bytes))
    }

    // MARK: - Known secrets

    private func maskKnownSecrets(in bytes: [UInt8]) -> [UInt8] {
        let mask = Array(Self.mask.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        scanning: while index < bytes.count {
            if let candidates = secretsByFirstByte[bytes[index]] {
                for secret in candidates where Self.bytes(bytes, at: index, equal: secret) {
                    out.append(contentsOf: mask)
                    index += secret.count
                    continue scanning
                }
            }
            out.append(bytes[index])
            index += 1
        }
        return out
    }

    /// Masks the longest proper suffix (of at least `minimumSecretLength` bytes) of any secret that starts the text.
    private func maskLeadingSecretFragment(in bytes: [UInt8]) -> [UInt8] {
        var longest = 0
        for secret in secretsByFirstByte.values.joined() {
            var length = min(secret.count - 1, bytes.count)
            while length >= Self.minimumSecretLength && length > longest {
                if secret[(secret.count - length)...].elementsEqual(bytes[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        guard longest > 0 else { return bytes }
        return Array(Self.mask.utf8) + bytes[longest...]
    }

    private static func bytes(_ bytes: [UInt8], at index: Int, equal needle: [UInt8]) -> Bool {
        guard bytes.count - index >= needle.count else { return false }
        for offset in 0..<needle.count where bytes[index + offset] != needle[offset] {
            return false
        }
        return true
    }

    // MARK: - URL credentials

    /// Masks the userinfo of every `scheme://userinfo@host`, whether it holds a password or only a token as user.
    static func maskURLCredentials(in bytes: [UInt8]) -> [UInt8] {
        let mask = Array(Self.mask.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let isSchemeSeparator = bytes[index] == UInt8(ascii: ":") && index + 2 < bytes.count
                && bytes[index + 1] == UInt8(ascii: "/") && bytes[index + 2] == UInt8(ascii: "/")
            guard isSchemeSeparator else {
                out.append(bytes[index])
                index += 1
                continue
            }
            let authorityStart = index + 3
            out.append(contentsOf: bytes[index..<authorityStart])
            var end = authorityStart
            var lastAt: Int?
            while end < bytes.count && !endsAuthority(bytes[end]) {
                if bytes[end] == UInt8(ascii: "@") { lastAt = end }
                end += 1
            }
            if let lastAt, lastAt > authorityStart {
                out.append(contentsOf: mask)
                index = lastAt
            } else {
                index = authorityStart
            }
        }
        return out
    }

    private static func endsAuthority(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "\""), UInt8(ascii: "'"),
             UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "`"), UInt8(ascii: "\\"):
            return true
        default:
            return byte <= 0x20 || byte == 0x7F
        }
    }

    // MARK: - Credential-bearing keys

    /// Keys whose value is a credential, lowercased: npm's `.npmrc` keys and the HTTP `Authorization` header.
    private static let credentialKeys: [[UInt8]] = ["_authtoken", "_auth", "_password", "authorization"].map { Array($0.utf8) }
    private static let authorizationKey = Array("authorization".utf8)
    /// Authorization schemes kept in clear in front of the masked credential, lowercased.
    private static let authorizationSchemes: Set<[UInt8]> = Set(["bearer", "basic", "token", "digest", "negotiate", "ntlm"]
        .map { Array($0.utf8) })

    /// Masks the value in `key=value`, `key: value` and quoted (JSON) forms of every credential key.
    static func maskCredentialKeys(in bytes: [UInt8]) -> [UInt8] {
        let mask = Array(Self.mask.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard let valueRange = credentialValue(in: bytes, keyAt: index) else {
                out.append(bytes[index])
                index += 1
                continue
            }
            out.append(contentsOf: bytes[index..<valueRange.lowerBound])
            out.append(contentsOf: mask)
            index = valueRange.upperBound
        }
        return out
    }

    /// The range of the credential value when a credential key starts at `start`, else nil.
    private static func credentialValue(in bytes: [UInt8], keyAt start: Int) -> Range<Int>? {
        if start > 0 && isIdentifierByte(bytes[start - 1]) { return nil }
        guard let key = credentialKeys.first(where: { matchesCaseInsensitively(bytes, at: start, lowercased: $0) }) else {
            return nil
        }
        var index = start + key.count
        if index < bytes.count && isIdentifierByte(bytes[index]) { return nil }
        if index < bytes.count && isQuote(bytes[index]) { index += 1 }
        index = skipBlanks(bytes, from: index)
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") || bytes[index] == UInt8(ascii: "=") else { return nil }
        index = skipBlanks(bytes, from: index + 1)
        var quote: UInt8?
        if index < bytes.count && isQuote(bytes[index]) {
            quote = bytes[index]
            index += 1
        }
        if key == authorizationKey {
            index = skipAuthorizationScheme(bytes, from: index)
        }
        var end = index
        while end < bytes.count && !endsCredential(bytes[end], quote: quote) { end += 1 }
        return end > index ? index..<end : nil
    }

    private static func skipAuthorizationScheme(_ bytes: [UInt8], from start: Int) -> Int {
        var end = start
        while end < bytes.count && isLetter(bytes[end]) { end += 1 }
        let word = bytes[start..<end].map { $0 | 0x20 }
        guard authorizationSchemes.contains(word), end < bytes.count, bytes[end] == UInt8(ascii: " ") else { return start }
        return skipBlanks(bytes, from: end)
    }

    private static func endsCredential(_ byte: UInt8, quote: UInt8?) -> Bool {
        if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return true }
        if let quote { return byte == quote }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "&"), UInt8(ascii: ","), UInt8(ascii: ";"),
             UInt8(ascii: "<"), UInt8(ascii: ">"):
            return true
        default:
            return byte <= 0x20
        }
    }

    private static func matchesCaseInsensitively(_ bytes: [UInt8], at index: Int, lowercased needle: [UInt8]) -> Bool {
        guard bytes.count - index >= needle.count else { return false }
        for offset in 0..<needle.count {
            let byte = bytes[index + offset]
            let folded = isLetter(byte) ? byte | 0x20 : byte
            if folded != needle[offset] { return false }
        }
        return true
    }

    private static func skipBlanks(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        while index < bytes.count && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")) { index += 1 }
        return index
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }

    private static func isQuote(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }
}
