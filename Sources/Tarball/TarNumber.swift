/// Numeric header fields: octal text or GNU base-256 (a leading 0x80 or 0xFF byte).
enum TarNumber {
    enum Parsed: Equatable {
        case value(Int64)
        case malformed
        case tooLarge
    }

    /// Node's tar throws on base-256 values beyond 2^53 − 1, and then skips the header.
    static let nodeSafeLimit: UInt64 = (1 << 53) - 1

    /// A size: strict octal (spaces, digits, then only spaces or NULs) or positive base-256.
    static func size(_ field: ArraySlice<UInt8>) -> Parsed {
        guard let first = field.first else { return .malformed }
        if first & 0x80 != 0 {
            guard first == 0x80 else { return .malformed }
            guard let magnitude = bigEndian(field.dropFirst()) else { return .tooLarge }
            return magnitude > nodeSafeLimit ? .tooLarge : .value(Int64(magnitude))
        }
        return octal(field).map(Parsed.value) ?? .malformed
    }

    /// Strict octal: what every tar writer emits and every reader (Node's `parseInt`, GNU tar) reads alike.
    static func octal(_ field: ArraySlice<UInt8>) -> Int64? {
        var index = field.startIndex
        while index < field.endIndex, field[index] == 0x20 { index += 1 }
        var value: Int64 = 0
        var digits = 0
        while index < field.endIndex, (0x30...0x37).contains(field[index]) {
            guard digits < 20 else { return nil }
            value = value << 3 | Int64(field[index] - 0x30)
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        while index < field.endIndex {
            guard field[index] == 0 || field[index] == 0x20 else { return nil }
            index += 1
        }
        return value
    }

    /// Whether Node's tar parses this field without throwing; a header it throws on is skipped,
    /// and its data would then be read as headers, so such a header is refused here.
    static func nodeParses(_ field: ArraySlice<UInt8>) -> Bool {
        guard let first = field.first, first & 0x80 != 0 else { return true }
        switch first {
        case 0x80:
            guard let magnitude = bigEndian(field.dropFirst()) else { return false }
            return magnitude <= nodeSafeLimit
        case 0xFF:
            // Two's complement over the whole field: magnitude = ~x + 1.
            guard let inverted = bigEndian(field.map { ~$0 }[...]) else { return false }
            return inverted < nodeSafeLimit
        default:
            return false
        }
    }

    /// Big-endian unsigned value, nil past UInt64.
    private static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for byte in bytes {
            guard value >> 56 == 0 else { return nil }
            value = value << 8 | UInt64(byte)
        }
        return value
    }
}
