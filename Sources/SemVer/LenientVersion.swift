extension Version {
    /// Reads a version as registry documents write them, more forgivingly than either node-semver grammar:
    /// surrounding spaces, tabs and line breaks, then one `=` and one `v` or `V` are dropped; one or two
    /// numeric parts stand for the rest as 0 (`1.0` is `1.0.0`); numbers may have leading zeros (at most
    /// 18 digits each); build metadata after `+` is dropped unread. Pre-release identifiers are still
    /// dot-separated non-empty `[0-9A-Za-z-]+` (numeric ones lose their leading zeros, as node-semver
    /// formats them). Precedence is the usual one: a pre-release sorts before its release.
    ///
    /// For text that is only ever compared (channel versions); never for what is handed to npm.
    public init?(lenient text: String) {
        guard text.utf16.count <= Version.maxLength else { return nil }
        var body = Substring(LenientVersion.trimmingASCIIWhitespace(text))
        if body.hasPrefix("=") { body = body.dropFirst() }
        if body.hasPrefix("v") || body.hasPrefix("V") { body = body.dropFirst() }
        if let plus = body.firstIndex(of: "+") { body = body[..<plus] }
        var prerelease: [String] = []
        if let dash = body.firstIndex(of: "-") {
            for identifier in body[body.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false) {
                guard !identifier.isEmpty, identifier.utf8.allSatisfy(LenientVersion.isIdentifierByte) else { return nil }
                prerelease.append(LenientVersion.normalized(identifier))
            }
            body = body[..<dash]
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard (1...LenientVersion.maxDigits).contains(part.utf8.count), part.utf8.allSatisfy(LenientVersion.isDigit),
                let value = Int(part)
            else { return nil }
            numbers.append(value)
        }
        while numbers.count < 3 { numbers.append(0) }
        self.init(major: numbers[0], minor: numbers[1], patch: numbers[2], prerelease: prerelease, build: [])
    }
}

private enum LenientVersion {
    /// Enough for any real version; 18 digits always fit an `Int`.
    static let maxDigits = 18

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= 0x30 && byte <= 0x39
    }

    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "-")
    }

    /// A numeric identifier without its leading zeros (`01` → `1`); any other identifier as written.
    static func normalized(_ identifier: Substring) -> String {
        guard identifier.utf8.allSatisfy(isDigit) else { return String(identifier) }
        let digits = identifier.drop { $0 == "0" }
        return digits.isEmpty ? "0" : String(digits)
    }

    /// Without leading and trailing spaces, tabs, `\n` and `\r` (registry text, not JavaScript's whitespace).
    static func trimmingASCIIWhitespace(_ text: String) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return text[first...last]
    }
}
