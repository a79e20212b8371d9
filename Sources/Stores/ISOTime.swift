import Foundation
import JSON

/// Timestamps as the API and the log show them: UTC, milliseconds, `2025-06-01T12:00:00.000Z`. The one timestamp
/// writer: strings for the API, bytes for the log line.
public enum ISOTime {
    public static func string(from date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        var bytes: [UInt8] = []
        append(seconds: time_t(seconds.rounded(.down)), millis: Int((seconds - seconds.rounded(.down)) * 1000), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Now, from the real-time clock.
    public static func appendNow(to bytes: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        append(seconds: now.tv_sec, millis: now.tv_nsec / 1_000_000, to: &bytes)
    }

    public static func append(seconds: time_t, millis: Int, to bytes: inout [UInt8]) {
        var t = seconds
        var parts = tm()
        gmtime_r(&t, &parts)
        ASCIIDigits.append(Int64(parts.tm_year) + 1900, width: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        ASCIIDigits.append(Int64(parts.tm_mon) + 1, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        ASCIIDigits.append(Int64(parts.tm_mday), width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        ASCIIDigits.append(Int64(parts.tm_hour), width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        ASCIIDigits.append(Int64(parts.tm_min), width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        ASCIIDigits.append(Int64(parts.tm_sec), width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        ASCIIDigits.append(Int64(millis), width: 3, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
    }
}
