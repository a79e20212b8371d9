/// The one way plugind writes a number's decimal digits into bytes (a response head, a log line, a timestamp, a
/// JSON number), without going through a `String`.
public enum ASCIIDigits {
    /// A non-negative number's digits, at least `width` of them (zero-padded).
    @inlinable
    public static func append(_ value: Int64, width: Int = 1, to bytes: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<max(width, 1) { divisor *= 10 }
        while divisor <= value / 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / divisor % 10))
            divisor /= 10
        }
    }

    /// Any integer, with its sign.
    @inlinable
    public static func append(signed value: Int, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            // Int.min has no positive counterpart: its digits come from the String.
            guard value != .min else { return bytes.append(contentsOf: String(value).utf8.dropFirst()) }
            append(Int64(-value), to: &bytes)
        } else {
            append(Int64(value), to: &bytes)
        }
    }
}
