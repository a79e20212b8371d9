/// Writes JSON the way JavaScript's JSON.stringify does: compact, or indented by two spaces.
///
/// The writer appends UTF-8 bytes to a byte array: a run of characters that needs no escaping (nearly
/// all text plugind serves) is copied in one go.
public enum JSONWriter {
    public static func compact(_ value: JSONValue) -> String { String(decoding: compactBytes(value), as: UTF8.self) }

    public static func pretty(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(value, into: &out, indent: 2, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    public static func compactBytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(value, into: &out, indent: 0, level: 0)
        return out
    }

    /// Appends `value`, compact, to `out`: for answers assembled from pre-encoded parts.
    public static func append(_ value: JSONValue, to out: inout [UInt8]) {
        write(value, into: &out, indent: 0, level: 0)
    }

    /// Appends an object's members, compact, without the braces (`"a":1,"b":true`) unless asked for
    /// the opening or the closing one: for objects whose constant members are encoded once and the rest
    /// per answer.
    public static func appendMembers(_ object: JSONObject, to out: inout [UInt8], opening: Bool = false, closing: Bool = false) {
        if opening { out.append(UInt8(ascii: "{")) }
        defer { if closing { out.append(UInt8(ascii: "}")) } }
        for (i, member) in object.members.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            write(member.value, into: &out, indent: 0, level: 0)
        }
    }

    /// Appends `text` as a JSON string literal, quotes included.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        writeString(text, into: &out)
    }

    /// Appends a literal piece of JSON syntax such as `{"name":`.
    @inline(__always)
    public static func appendRaw(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8], indent: Int, level: Int) {
        switch value {
        case .null: appendRaw("null", to: &out)
        case .bool(let b): if b { appendRaw("true", to: &out) } else { appendRaw("false", to: &out) }
        case .number(let literal): out.append(contentsOf: literal.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            if elements.isEmpty { appendRaw("[]", to: &out); return }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent, level: level + 1)
                write(element, into: &out, indent: indent, level: level + 1)
            }
            newline(into: &out, indent: indent, level: level)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty { appendRaw("{}", to: &out); return }
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent, level: level + 1)
                writeString(member.key, into: &out)
                if indent == 0 { out.append(UInt8(ascii: ":")) } else { appendRaw(": ", to: &out) }
                write(member.value, into: &out, indent: indent, level: level + 1)
            }
            newline(into: &out, indent: indent, level: level)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(into out: inout [UInt8], indent: Int, level: Int) {
        guard indent > 0 else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        // A native string is read in place: copying it first (to call withUTF8) cost a retain and a release per string.
        if s.utf8.withContiguousStorageIfAvailable({ writeUTF8($0, into: &out) }) == nil {
            var s = s
            s.withUTF8 { writeUTF8($0, into: &out) }
        }
    }

    private static func writeUTF8(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        guard let base = bytes.baseAddress else { return out.append(UInt8(ascii: "\"")) }
        let count = bytes.count
        var runStart = 0
        var i = 0
        while i < count {
            // Eight bytes at a time while none needs escaping, which is nearly always.
            if i &+ 8 <= count, !mayNeedEscaping(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i &+= 8
                continue
            }
            let byte = base[i]
            // Multi-byte UTF-8 sequences (all bytes ≥ 0x80) pass through as they are.
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                i &+= 1
                continue
            }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart)) }
            switch byte {
            case UInt8(ascii: "\""): appendRaw("\\\"", to: &out)
            case UInt8(ascii: "\\"): appendRaw("\\\\", to: &out)
            case UInt8(ascii: "\n"): appendRaw("\\n", to: &out)
            case UInt8(ascii: "\r"): appendRaw("\\r", to: &out)
            case UInt8(ascii: "\t"): appendRaw("\\t", to: &out)
            case 0x08: appendRaw("\\b", to: &out)
            case 0x0C: appendRaw("\\f", to: &out)
            default:
                appendRaw("\\u00", to: &out)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
            i &+= 1
            runStart = i
        }
        if runStart < count { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart)) }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether any of the eight bytes is a control character, a quote or a backslash (a false alarm costs only the
    /// byte-by-byte check; a miss cannot happen).
    @inline(__always)
    private static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        let control = (word &- ones &* 0x20) & ~word & highs != 0  // some byte below 0x20
        return control || hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C))
    }
}
