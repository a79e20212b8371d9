import JSON

/// The kinds of value a parameter takes. Values are always stored as strings in the agent config.
public enum ParameterType: String, Sendable {
    case string, number, boolean, array, json

    /// Declarations in the wild say `integer`, `object`, `secret`…; anything unknown is a string.
    init(declared: String?) {
        switch declared?.lowercased() {
        case "number", "integer", "float", "int": self = .number
        case "boolean", "bool": self = .boolean
        case "array", "list": self = .array
        case "json", "object": self = .json
        default: self = .string
        }
    }
}

/// One configuration key a plugin declares.
public struct PluginParameter: Sendable, Equatable {
    public let key: String
    public let type: ParameterType
    public let description: String
    public let required: Bool
    public let sensitive: Bool
    /// The default in canonical string form.
    public let defaultValue: String?
    public let options: [String]?
    /// `ParameterRules.isBlocked(key)` and `isInjected(key)`, decided once: every plugin list asks for each parameter.
    public let blocked: Bool
    public let injected: Bool

    public init(key: String, type: ParameterType, description: String = "", required: Bool = false, sensitive: Bool? = nil, defaultValue: String? = nil, options: [String]? = nil) {
        self.key = key
        self.blocked = ParameterRules.isBlocked(key)
        self.injected = ParameterRules.isInjected(key)
        self.type = type
        self.description = description
        self.required = required
        self.sensitive = sensitive ?? ParameterRules.looksSensitive(key)
        self.defaultValue = defaultValue
        self.options = options
    }

    /// From an `agentConfig.pluginParameters` / catalogue declaration; tolerant of `optional`,
    /// missing `required`/`sensitive`, and attributes we do not know.
    init(key: String, declaration: JSONValue) {
        let type = ParameterType(declared: declaration["type"]?.stringValue)
        var required = declaration["required"]?.boolValue ?? false
        if let optional = declaration["optional"]?.boolValue { required = !optional }
        let defaultValue = declaration["default"].flatMap { value -> String? in
            if value.isNull { return nil }
            return (try? ParameterRules.canonical(value, as: type)) ?? nil
        }
        let options = declaration["options"]?.arrayValue?.compactMap { item -> String? in
            if let s = item.stringValue { return s }
            if let v = item["value"] { return (try? ParameterRules.canonical(v, as: type)) ?? nil }
            return (try? ParameterRules.canonical(item, as: type)) ?? nil
        }
        self.init(
            key: key, type: type, description: declaration["description"]?.stringValue ?? "", required: required,
            sensitive: declaration["sensitive"]?.boolValue, defaultValue: defaultValue, options: options)
    }

    /// Has a value to fall back on (`false` and `0` count).
    var hasDefault: Bool { defaultValue != nil }
}

/// The rules every parameter follows: sensitivity by name, blocked keys, canonical strings, masking.
public enum ParameterRules {
    static let sensitiveMarkers = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PRIVATE", "SIGNING", "ENCRYPTION"]
    private static let sensitiveMarkerBytes = sensitiveMarkers.map { Array($0.utf8) }

    /// Whether a key without a `sensitive` flag is treated as a secret.
    ///
    /// Every plugin list asks this several times per parameter. An ASCII key (all of them in practice) is compared
    /// byte by byte; Foundation's `contains` on `String`s took four tenths of the list's CPU. Any other key keeps
    /// Unicode's rules (its case mapping, and Foundation's matching of canonically equivalent characters).
    public static func looksSensitive(_ key: String) -> Bool {
        if let upper = asciiUppercased(key) {
            return sensitiveMarkerBytes.contains { marker in contains(upper, marker) }
        }
        let upper = key.uppercased()
        return sensitiveMarkers.contains { upper.contains($0) }
    }

    /// Whether `needle` occurs in `haystack` (both short: a key and a marker).
    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        var start = 0
        while start + needle.count <= haystack.count {
            var matched = 0
            while matched < needle.count && haystack[start + matched] == needle[matched] { matched += 1 }
            if matched == needle.count { return true }
            start += 1
        }
        return false
    }

    /// `key` in upper case as bytes when it is all ASCII; nil otherwise.
    private static func asciiUppercased(_ key: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count)
        for byte in key.utf8 {
            guard byte < 0x80 else { return nil }
            bytes.append(byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte)
        }
        return bytes
    }

    /// Names the process environment, a shell, git, TLS or a proxy reads: set for the agent, they would change how
    /// it (or what it starts) runs. Compared without regard to case. A plugin's own `EDGE_TTS_PROXY`-style key
    /// is not among them: only these exact names and prefixes are.
    static let blockedExact: Set<String> = [
        "PATH", "HOME", "SHELL", "ENV", "BASH_ENV", "BUN_OPTIONS", "BUN_INSTALL", "PYTHONPATH",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
        "MILADY_API_TOKEN", "ELIZA_SERVER_AUTH_TOKEN",
    ]
    static let blockedPrefixes = ["LD_", "DYLD_", "NODE_", "NPM_CONFIG_", "GIT_", "PLUGIND_"]

    /// Keys that change how the agent process itself runs; never settable, whatever a plugin declares.
    public static func isBlocked(_ key: String) -> Bool {
        let upper = key.uppercased()
        return blockedExact.contains(upper) || blockedPrefixes.contains { upper.hasPrefix($0) }
    }

    /// Keys the hosting infrastructure injects into the agent's environment (Vercel's OIDC token): never a user's
    /// setting, so hidden from parameters and validation, and refused in a PUT. Milady's app hides them too.
    public static let infrastructureInjected: Set<String> = ["VERCEL_OIDC_TOKEN"]

    public static func isInjected(_ key: String) -> Bool { infrastructureInjected.contains(key.uppercased()) }

    /// What a client sees instead of a secret: `****` below 16 characters, else `abc****...wxyz`.
    public static func mask(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        guard scalars.count >= 16 else { return "****" }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: scalars.prefix(3))
        var tail = String.UnicodeScalarView()
        tail.append(contentsOf: scalars.suffix(4))
        return String(head) + "****..." + String(tail)
    }

    /// Why a submitted value is not acceptable for a type.
    public struct Refusal: Error, Equatable {
        public let message: String
    }

    /// The canonical stored string for a submitted value; nil means "clear".
    public static func canonical(_ value: JSONValue, as type: ParameterType) throws(Refusal) -> String? {
        switch value {
        case .null: return nil
        case .string(let s) where s.trimmingWhitespace().isEmpty: return nil  // whitespace only clears, as empty does
        case .array, .object: throw Refusal(message: "must be a string, number or boolean, not \(value.kindName)")
        default: break
        }
        switch type {
        case .string:
            switch value {
            case .string(let s): return s
            case .number(let n): return n
            case .bool(let b): return b ? "true" : "false"
            default: return nil
            }
        case .number:
            let text: String
            switch value {
            case .number(let n): text = n
            case .string(let s): text = s.trimmingWhitespace()
            default: throw Refusal(message: "must be a number")
            }
            guard let number = canonicalNumber(text) else { throw Refusal(message: "must be a number") }
            return number
        case .boolean:
            switch value {
            case .bool(let b): return b ? "true" : "false"
            case .string(let s) where ["true", "false"].contains(s.lowercased().trimmingWhitespace()):
                return s.lowercased().trimmingWhitespace()
            default: throw Refusal(message: "must be true or false")
            }
        case .array:
            switch value {
            case .string(let s):
                let items = s.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                return items.isEmpty ? nil : items.joined(separator: ",")
            case .number(let n): return n
            case .bool(let b): return b ? "true" : "false"
            default: return nil
            }
        case .json:
            switch value {
            case .string(let s):
                guard let parsed = try? JSONParser.parse(s, maxDepth: 64) else { throw Refusal(message: "must be valid JSON") }
                return JSONWriter.compact(parsed)
            case .number(let n): return n
            case .bool(let b): return b ? "true" : "false"
            default: return nil
            }
        }
    }

    /// A number in canonical decimal: integers without a fraction, others in shortest round-trip form.
    static func canonicalNumber(_ text: String) -> String? {
        guard !text.isEmpty, text.allSatisfy({ "0123456789+-.eE".contains($0) }), let d = Double(text), d.isFinite else { return nil }
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
        return String(d)
    }

    /// Whether a stored string is a valid value of the type.
    static func parses(_ stored: String, as type: ParameterType) -> Bool {
        switch type {
        case .string, .array: true
        case .number: canonicalNumber(stored.trimmingWhitespace()) != nil
        case .boolean: ["true", "false"].contains(stored.lowercased())
        case .json: (try? JSONParser.parse(stored, maxDepth: 64)) != nil
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
