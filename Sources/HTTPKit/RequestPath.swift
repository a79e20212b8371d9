/// Splits a raw request path into percent-decoded segments, refusing the ones that could escape a
/// directory or smuggle control bytes. Decoding happens after splitting, so `%2F` stays inside its segment.
public enum RequestPath {
    public static func segments(of rawPath: Substring) throws(APIError) -> [String] {
        var parts = rawPath.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        // A trailing slash names the same resource as none.
        if parts.last?.isEmpty == true { parts = parts.dropLast() }
        var segments: [String] = []
        segments.reserveCapacity(parts.count)
        for part in parts {
            guard let decoded = percentDecode(Substring(part)) else {
                throw APIError.badRequest("The request path has a segment that is not valid percent-encoded UTF-8.")
            }
            if decoded == "." || decoded == ".." {
                throw APIError.badRequest("The request path may not contain '.' or '..' segments.")
            }
            if decoded.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw APIError.badRequest("The request path may not contain NUL or control characters.")
            }
            segments.append(decoded)
        }
        return segments
    }

    /// Percent-decodes one segment; nil for a malformed escape or bytes that are not UTF-8.
    public static func percentDecode<S: StringProtocol>(_ text: S, plusIsSpace: Bool = false) -> String? {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
            return String(text)
        }
        return decodingEscapes(Array(text.utf8)[...], plusIsSpace: plusIsSpace)
    }

    /// Percent-decodes ASCII bytes of a query string (`+` is a space); nil for a malformed escape or bytes that
    /// are not UTF-8. The same as `percentDecode(_:plusIsSpace: true)` on the bytes' text.
    static func percentDecode(_ text: ArraySlice<UInt8>) -> String? {
        if !text.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
            return String(decoding: text, as: UTF8.self)
        }
        return decodingEscapes(text, plusIsSpace: true)
    }

    private static func decodingEscapes(_ text: ArraySlice<UInt8>, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            let b = text[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < text.endIndex, let hi = hexValue(text[i + 1]), let lo = hexValue(text[i + 2]) else { return nil }
                bytes.append(hi << 4 | lo)
                i += 3
            } else {
                bytes.append(plusIsSpace && b == UInt8(ascii: "+") ? 0x20 : b)
                i += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}

/// `application/x-www-form-urlencoded` query items, in order.
public struct QueryItems: Sendable {
    public let items: [(name: String, value: String)]

    public init(_ rawQuery: Substring) throws(APIError) {
        var items: [(String, String)] = []
        if rawQuery.utf8.allSatisfy({ $0 < 0x80 }) {
            // The usual query string, ASCII only: split and decode its bytes in one pass, where splitting the
            // string would walk it by characters and allocate a substring array per pair.
            let bytes = Array(rawQuery.utf8)
            var start = 0
            while start <= bytes.count {
                var end = start
                var equals = -1
                while end < bytes.count, bytes[end] != UInt8(ascii: "&") {
                    if equals < 0, bytes[end] == UInt8(ascii: "=") { equals = end }
                    end += 1
                }
                if end > start {
                    let nameEnd = equals < 0 ? end : equals
                    guard let name = RequestPath.percentDecode(bytes[start..<nameEnd]),
                        let value = RequestPath.percentDecode(bytes[(equals < 0 ? end : equals + 1)..<end])
                    else { throw APIError.badRequest("The query string is not valid percent-encoded UTF-8.") }
                    items.append((name, value))
                }
                start = end + 1
            }
            self.items = items
            return
        }
        for pair in rawQuery.split(separator: "&") where !pair.isEmpty {
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = RequestPath.percentDecode(halves[0], plusIsSpace: true),
                let value = RequestPath.percentDecode(halves.count > 1 ? halves[1] : "", plusIsSpace: true)
            else { throw APIError.badRequest("The query string is not valid percent-encoded UTF-8.") }
            items.append((name, value))
        }
        self.items = items
    }

    /// The last value given for `name`, nil when it is not given. The one rule for every route: an empty value
    /// (`limit=`) is the same as leaving the parameter out, so it means the parameter's default.
    public subscript(name: String) -> String? {
        guard let value = items.last(where: { $0.name == name })?.value, !value.isEmpty else { return nil }
        return value
    }
}
