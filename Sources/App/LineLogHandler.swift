import Glibc
import HTTPKit
import JSON
import Logging
import Stores

/// One line per event on stderr, UTC timestamps, through `LogSink` (batched writes): cheap enough for the
/// per-request line (swift-log's stream handler formats local time, which stats /etc/localtime each call).
public struct LineLogHandler: LogHandler {
    let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(label: String, logLevel: Logger.Level) {
        self.label = label
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = LogLine(level: event.level, label: label)
        line.append(event.message.description)
        if let extra = event.metadata, !extra.isEmpty {
            append(metadata.isEmpty ? extra : metadata.merging(extra) { _, new in new }, to: &line)
        } else if !metadata.isEmpty {
            append(metadata, to: &line)
        }
        line.emit(urgent: event.level >= .warning)
    }

    /// ` key=value` for each entry, keys in order.
    private func append(_ metadata: Logger.Metadata, to line: inout LogLine) {
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { line.append(field: key, value.description) }
    }
}

/// The gatekeeper's line per request, the same line `LineLogHandler` would write for it
/// (`… info plugind: GET /api/health 200 0.1ms requestId=…`), put together without swift-log's
/// message, metadata dictionary and event values on every request.
struct LineRequestLog: RequestLog {
    let label: String
    /// False when the log level is above info: then the line is not written at all.
    let enabled: Bool

    init(label: String, level: Logger.Level) {
        self.label = label
        self.enabled = level <= .info
    }

    func record(_ entry: RequestLogEntry) {
        guard enabled else { return }
        var line = LogLine(level: .info, label: label)
        line.append(entry.method.rawValue)
        line.append(" ")
        line.append(entry.path)
        line.append(" ")
        line.appendDecimal(Int64(entry.status.code))
        line.append(" ")
        line.appendDecimal(entry.tenthsOfMs / 10)
        line.append(".")
        line.appendDecimal(entry.tenthsOfMs % 10)
        line.append("ms")
        line.append(field: "requestId", entry.requestId)
        line.emit(urgent: false)
    }
}

/// One log line as it is put together: `2026-11-29T14:02:35.123Z level label: message key=value…`.
struct LogLine {
    private var bytes: [UInt8] = []

    init(level: Logger.Level, label: String) {
        bytes.reserveCapacity(160)
        appendTimestamp()
        bytes.append(0x20)
        bytes.append(contentsOf: level.rawValue.utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: label.utf8)
        bytes.append(contentsOf: ": ".utf8)
    }

    mutating func append(_ text: some StringProtocol) { bytes.append(contentsOf: text.utf8) }

    /// ` key=value`
    mutating func append(field key: String, _ value: some StringProtocol) {
        bytes.append(0x20)
        bytes.append(contentsOf: key.utf8)
        bytes.append(UInt8(ascii: "="))
        bytes.append(contentsOf: value.utf8)
    }

    /// A non-negative number's digits.
    mutating func appendDecimal(_ value: Int64) {
        ASCIIDigits.append(value, to: &bytes)
    }

    /// Hands the line to `LogSink`; control characters from a message never forge a second line.
    consuming func emit(urgent: Bool) {
        for i in bytes.indices where bytes[i] < 0x20 && bytes[i] != 0x09 { bytes[i] = 0x20 }
        bytes.append(0x0A)
        LogSink.standardError.emit(bytes, urgent: urgent)
    }

    /// `2026-11-29T14:02:35.123Z`.
    private mutating func appendTimestamp() {
        ISOTime.appendNow(to: &bytes)
    }
}
