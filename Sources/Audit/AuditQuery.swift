import Failures
import Foundation
import Stores
import Vocabulary

/// A parameter of `GET /api/audit` that cannot be used; the sentence names it.
public struct AuditQueryError: UserFacingError, Equatable {
    public let parameter: String
    public let message: String
    public var kind: FailureKind { .badRequest }
    public var description: String { message }
}

/// The parameters of `GET /api/audit`, checked: `since` and `until` ISO 8601 times, `plugin` a plugin id or npm
/// name, `limit` 1…500 (default 50), `cursor` a page's `nextCursor`.
public enum AuditQuery {
    public static let defaultLimit = 50
    public static let maxLimit = 500

    /// `aliases` gives the other names a plugin is known by (its npm name and id when plugind knows it).
    public static func parse(
        since: String?, until: String?, plugin: String?, limit: String?, cursor: String?, aliases: (String) -> [String] = { _ in [] }
    ) throws(AuditQueryError) -> AuditStore.Query {
        var query = AuditStore.Query(limit: defaultLimit)
        if let since {
            guard let time = time(since) else { throw invalidTime("since") }
            query.since = time
        }
        if let until {
            guard let time = time(until) else { throw invalidTime("until") }
            query.until = time
        }
        if let limit {
            guard limit.utf8.count <= 3, limit.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(limit), (1...maxLimit).contains(value) else {
                throw AuditQueryError(parameter: "limit", message: "The 'limit' parameter must be a whole number from 1 to \(maxLimit).")
            }
            query.limit = value
        }
        if let plugin {
            guard plugin.unicodeScalars.count <= 214, !plugin.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw AuditQueryError(parameter: "plugin", message: "The 'plugin' parameter must be a plugin id or npm name (at most 214 characters).")
            }
            query.subjects = names(for: plugin, aliases: aliases(plugin))
        }
        if let cursor {
            guard let position = position(cursor) else {
                throw AuditQueryError(parameter: "cursor", message: "The 'cursor' parameter must be the nextCursor of an earlier page, unchanged.")
            }
            query.after = position
        }
        return query
    }

    /// Every name entries about `plugin` may carry: as given, the aliases, and by the naming rule
    /// (`openai` ⇄ `@elizaos/plugin-openai`).
    static func names(for plugin: String, aliases: [String]) -> [String] {
        var names = [plugin] + aliases
        if plugin.hasPrefix("@elizaos/plugin-") {
            names.append(String(plugin.dropFirst("@elizaos/plugin-".count)))
        } else if !plugin.contains("/") && !plugin.hasPrefix("@") {
            names += [PluginIdentity.npmName(fromConfigKey: plugin), "@elizaos/" + plugin]
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// The opaque `nextCursor` of a page that ends at `position`.
    public static func cursor(_ position: AuditStore.Position) -> String {
        Data("\(position.time)|\(position.id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func position(_ cursor: String) -> AuditStore.Position? {
        guard cursor.utf8.count <= 80 else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 2, let id = Int64(parts[1]), id > 0, let time = time(String(parts[0])), time == parts[0] else { return nil }
        let position = AuditStore.Position(time: time, id: id)
        // One spelling per position: base64's slack in its last characters is not another cursor.
        return self.cursor(position) == cursor ? position : nil
    }

    private static func invalidTime(_ name: String) -> AuditQueryError {
        AuditQueryError(
            parameter: name, message: "The '\(name)' parameter must be an ISO 8601 time such as 2026-12-07T04:00:00Z (fractional seconds and an offset such as +02:00 allowed).")
    }

    /// An ISO 8601 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`) as `ISOTime` writes it (UTC, milliseconds,
    /// a fraction beyond them rounded up); nil when it is not one.
    public static func time(_ text: String) -> String? {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var value = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        func byte(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let year = digits(0, 4), byte(4, "-"), let month = digits(5, 2), byte(7, "-"), let day = digits(8, 2),
            byte(10, "T") || byte(10, "t"), let hour = digits(11, 2), byte(13, ":"), let minute = digits(14, 2), byte(16, ":"),
            let second = digits(17, 2), (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var i = 19
        var nanos = 0
        if byte(i, ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                if count < 9 { nanos = nanos * 10 + Int(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 9)..<9 { nanos *= 10 }
        }
        var offset = 0
        if byte(i, "Z") || byte(i, "z") {
            i += 1
        } else if byte(i, "+") || byte(i, "-") {
            guard let h = digits(i + 1, 2), byte(i + 3, ":"), let m = digits(i + 4, 2), h <= 23, m <= 59 else { return nil }
            offset = (h * 60 + m) * 60 * (byte(i, "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        // timegm normalises 31 February into March: such a date is not a date.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        var millis = (nanos + 999_999) / 1_000_000
        var whole = Int(seconds) - offset
        if millis == 1000 {
            whole += 1
            millis = 0
        }
        guard whole >= 0 else { return nil }
        var bytes: [UInt8] = []
        ISOTime.append(seconds: time_t(whole), millis: millis, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
