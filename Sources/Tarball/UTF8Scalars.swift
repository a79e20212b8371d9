/// A strict UTF-8 reader over raw name bytes: overlong forms, surrogates and stray bytes are errors,
/// as they are for Node's decoder (which would turn them into U+FFFD).
enum UTF8Scalars {
    enum Step {
        case scalar(Unicode.Scalar, length: Int)
        case invalid(UInt8)
    }

    /// Decodes the sequence starting at `index`.
    static func step(_ bytes: [UInt8], at index: Int) -> Step {
        let b = bytes[index..<min(bytes.count, index + 4)]
        let lead = b[b.startIndex]
        if lead < 0x80 { return .scalar(Unicode.Scalar(lead), length: 1) }
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(lead & 0x07)
        default: return .invalid(lead)
        }
        guard b.count >= length else { return .invalid(lead) }
        let start = b.startIndex
        for continuation in b[(start + 1)..<(start + length)] {
            guard continuation & 0xC0 == 0x80 else { return .invalid(lead) }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return .invalid(lead) }
        return .scalar(scalar, length: length)
    }

    static func isValid(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 { index += 1; continue }
            guard case .scalar(_, let length) = step(bytes, at: index) else { return false }
            index += length
        }
        return true
    }
}
