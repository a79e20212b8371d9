/// Entry names come from an attacker: before they reach a log line or a JSON error they are
/// escaped (control, format and bidi characters, invalid UTF-8) and capped.
enum DisplayName {
    static let maxCharacters = 160

    static func make(_ bytes: [UInt8]) -> String {
        var out = ""
        var count = 0
        var index = 0
        while index < bytes.count {
            if count >= maxCharacters { return out + "…" }
            let piece: String
            switch UTF8Scalars.step(bytes, at: index) {
            case .invalid(let byte):
                piece = "\\x" + hex(UInt32(byte), width: 2)
                index += 1
            case .scalar(let scalar, let length):
                piece = escaped(scalar)
                index += length
            }
            out += piece
            count += 1
        }
        return out
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\0": return "\\0"
        case "\\": return "\\\\"
        case "\"": return "\\\""
        default: break
        }
        let v = scalar.value
        let invisible = v < 0x20 || (0x7F...0x9F).contains(v) || (0x200B...0x200F).contains(v)
            || (0x2028...0x202E).contains(v) || (0x2060...0x2069).contains(v) || v == 0xFEFF
        return invisible ? "\\u{" + hex(v, width: 2) + "}" : String(scalar)
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
