import Glibc
import Logging

/// One line per event on stderr, UTC timestamps, through `LogSink` (batched writes): cheap enough for the
/// per-request line (swift-log's stream handler formats local time, which stats /etc/localtime each call).
struct LineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(160)
        Self.appendTimestamp(to: &line)
        for part in [" ", event.level.rawValue, " ", label, ": ", event.message.description] { line.append(contentsOf: part.utf8) }
        if let extra = event.metadata, !extra.isEmpty {
            let merged = metadata.isEmpty ? extra : metadata.merging(extra) { _, new in new }
            append(merged, to: &line)
        } else if !metadata.isEmpty {
            append(metadata, to: &line)
        }
        // Control characters from a message never forge a second log line.
        for i in line.indices where line[i] < 0x20 && line[i] != 0x09 { line[i] = 0x20 }
        line.append(0x0A)
        LogSink.standardError.emit(line, urgent: event.level >= .warning)
    }

    private func append(_ metadata: Logger.Metadata, to line: inout [UInt8]) {
        for (key, value) in metadata.count == 1 ? Array(metadata) : metadata.sorted(by: { $0.key < $1.key }) {
            line.append(0x20)
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            line.append(contentsOf: value.description.utf8)
        }
    }

    /// `2026-11-29T14:02:35.123Z`, written digit by digit.
    static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        line.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        line.append(UInt8(ascii: "."))
        digits(Int(now.tv_nsec / 1_000_000), 3)
        line.append(UInt8(ascii: "Z"))
    }
}
