import Foundation
import Adapters
import JSON
import SemVer

/// A setting that is missing, misspelt or out of range; the message names it.
public struct SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The effective settings: defaults, then the settings file, then `PLUGIND_*` variables, then flags.
public struct PlugindSettings: Sendable {
    /// Every setting's value by its dotted key, already validated.
    public private(set) var values: [String: JSONValue]
    /// Where each setting that is not at its default came from.
    public private(set) var sources: [String: SettingSource]

    /// `flags` names the flag an override came from (`stateDir` → `--state-dir`); others are `--set key`.
    public init(
        file: String? = nil, environment: [String: String] = [:], overrides: [(key: String, value: String)] = [],
        flags: [String: String] = [:]
    ) throws {
        var values: [String: JSONValue] = [:]
        var sources: [String: SettingSource] = [:]
        for spec in SettingsTable.all { values[spec.key] = spec.defaultValue }
        if let file {
            for (key, value) in try Self.readFile(file) {
                values[key] = value
                sources[key] = .file(file)
            }
        }
        for spec in SettingsTable.all {
            if let text = environment[spec.environment] {
                values[spec.key] = try Self.value(fromText: text, for: spec, source: spec.environment)
                sources[spec.key] = .environment(spec.environment)
            }
        }
        for (key, text) in overrides {
            let flag = flags[key] ?? "--set \(key)"
            guard let spec = SettingsTable.spec(key) else {
                throw SettingsError("\(flag): unknown setting '\(key.prefix(100))'\(SettingsTable.didYouMean(key))")
            }
            values[key] = try Self.value(fromText: text, for: spec, source: flag)
            sources[key] = .flag(flag)
        }
        for spec in SettingsTable.all {
            let source = sources[spec.key] ?? .defaultValue
            values[spec.key] = try Self.validate(values[spec.key] ?? .null, spec: spec, subject: source.subject(for: spec.key))
        }
        if sources["maxConcurrentOperations"] == nil, let threads = values["threads"]?.intValue {
            values["maxConcurrentOperations"] = .number(min(4, threads - 1))
        }
        self.values = values
        self.sources = sources
        try checkConsistency()
    }

    private func checkConsistency() throws {
        if maxConcurrentOperations >= threads {
            let subject = source("maxConcurrentOperations").subject(for: "maxConcurrentOperations")
            throw SettingsError(
                "\(subject) (\(maxConcurrentOperations)) must be below threads (\(threads), \(source("threads").subject(for: "threads"))) so short requests always find a worker.")
        }
        let bridge = string("runtimeBridge") ?? ""
        if bridge != "none" && !bridge.hasPrefix("unix:/") {
            guard let url = URLComponents(string: bridge), url.scheme == "http", let host = url.host, Self.isLoopback(host) else {
                throw SettingsError("\(source("runtimeBridge").subject(for: "runtimeBridge")) must be unix:/absolute/path, http://127.0.0.1:PORT or none, not '\(bridge)'.")
            }
        }
        if timeout("operationMs") >= 900_000 {
            throw SettingsError(
                "\(source("timeouts.operationMs").subject(for: "timeouts.operationMs")) must stay below nginx's fastcgi_read_timeout of 900 s (900000), not \(timeout("operationMs")).")
        }
    }

    // MARK: Typed access

    public func string(_ key: String) -> String? { values[key]?.stringValue }
    public func integer(_ key: String) -> Int { values[key]?.intValue ?? 0 }
    public func bool(_ key: String) -> Bool { values[key]?.boolValue ?? false }
    public func strings(_ key: String) -> [String] { values[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    /// A timeout in milliseconds, by its name under `timeouts.`.
    public func timeout(_ name: String) -> Int { integer("timeouts." + name) }

    public var stateDir: String { string("stateDir")! }
    public var socket: String { string("socket")! }
    public var socketMode: mode_t { mode_t(string("socketMode")!, radix: 8)! }
    public var socketGroup: String? { string("socketGroup") }
    public var threads: Int { integer("threads") }
    public var maxBodyBytes: Int { integer("maxBodyBytes") }
    public var publicOrigins: [String] { strings("publicOrigins") }
    public var agentConfigPath: String { string("agentConfigPath") ?? (stateDir as NSString).appendingPathComponent("milady.json") }
    public var databasePath: String { (stateDir as NSString).appendingPathComponent("state.db") }
    public var tokensPath: String { (stateDir as NSString).appendingPathComponent("tokens.json") }
    public var maxConcurrentOperations: Int { integer("maxConcurrentOperations") }
    public var clientAnswerWithinMs: Int { integer("clientAnswerWithinMs") }
    /// How long, and how many, audit trail entries are kept.
    public var auditRetentionDays: Int { integer("auditRetentionDays") }
    public var auditMaxEntries: Int { integer("auditMaxEntries") }
    /// The id of the group `agentConfigGroup` names; nil when unset, an error when no such group exists.
    public func agentConfigGroupID() throws -> gid_t? {
        guard let group = string("agentConfigGroup") else { return nil }
        guard let entry = getgrnam(group) else {
            throw SettingsError("agentConfigGroup names '\(group)', which is not a group on this host; create it or unset the setting.")
        }
        return entry.pointee.gr_gid
    }
    public var logLevel: String { string("logLevel")! }
    /// Whether requests, operations and refreshes are counted for `GET /api/metrics`.
    public var metrics: Bool { bool("metrics") }
    /// Secrets among the settings, for the scrubber.
    public var secrets: [String] {
        let scopeTokens = (values["npmScopes"]?.objectValue ?? JSONObject()).compactMap { $0.value["token"]?.stringValue }
        return (SettingsTable.all.filter(\.secret).compactMap { string($0.key) } + scopeTokens).filter { !$0.isEmpty }
    }

    /// The settings as `GET /api/settings` shows them: nested like the file, secrets as `****`.
    public func redactedJSON() -> JSONValue {
        var root = JSONObject()
        var timeouts = JSONObject()
        for spec in SettingsTable.all {
            var value = values[spec.key] ?? .null
            if case .scopeMap = spec.kind, let scopes = value.objectValue {
                // The registries show; the tokens do not.
                value = .object(JSONObject(scopes.map { scope in
                    var shown = scope.value.objectValue ?? JSONObject()
                    if shown["token"] != nil { shown["token"] = "****" }
                    return .init(key: scope.key, value: .object(shown))
                }))
            } else if spec.secret, !value.isNull {
                value = "****"
            }
            if spec.key.hasPrefix("timeouts.") {
                timeouts[String(spec.key.dropFirst("timeouts.".count))] = value
            } else {
                root[spec.key] = value
            }
        }
        root["timeouts"] = .object(timeouts)
        return .object(root)
    }

    // MARK: Reading and checking

    static func readFile(_ path: String) throws -> [(String, JSONValue)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, F_OK) == 0 ? "permission denied; run as root or as plugind's user" : "no such file"
            throw SettingsError("Cannot read the settings file \(path): \(reason).")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(data), maxDepth: 16)
        } catch {
            throw SettingsError("The settings file \(path) is not valid JSON: \(error.description).")
        }
        guard let object = document.objectValue else { throw SettingsError("The settings file \(path) must hold a JSON object.") }
        var result: [(String, JSONValue)] = []
        for member in object {
            if member.key == "$schema" || member.key.hasPrefix("//") { continue }  // room for comments
            if member.key == "timeouts", let nested = member.value.objectValue {
                for inner in nested { result.append(("timeouts." + inner.key, inner.value)) }
                continue
            }
            result.append((member.key, member.value))
        }
        for (key, value) in result where SettingsTable.spec(key) == nil {
            throw SettingsError(
                "\(path): unknown setting '\(key.prefix(100))' (set to \(show(value)))\(SettingsTable.didYouMean(key))")
        }
        return result
    }

    static func value(fromText text: String, for spec: SettingSpec, source: String) throws -> JSONValue {
        switch spec.kind {
        case .integer:
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw SettingsError("\(source) must be a whole number, not '\(text)'.")
            }
            return .number(n)
        case .boolean:
            switch text.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw SettingsError("\(source) must be true or false, not '\(text)'.")
            }
        case .urlList, .originList, .stringList:
            return .strings(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        case .scopeMap:
            guard let value = try? JSONParser.parse(Array(text.utf8), maxDepth: 8) else {
                throw SettingsError("\(source) must be a JSON object such as {\"@acme\": {\"registry\": \"https://npm.acme.example/\"}}.")
            }
            return value
        case .optionalString, .optionalPath, .optionalVersion:
            return text.isEmpty ? .null : .string(text)
        default:
            return .string(text)
        }
    }

    /// `subject` says where the value came from ("threads in /etc/plugind/settings.json", "PLUGIND_THREADS"); every
    /// error names it and, unless the setting is a secret, the value.
    static func validate(_ value: JSONValue, spec: SettingSpec, subject name: String) throws -> JSONValue {
        let shown = spec.secret ? "" : ", not \(show(value))"
        func bad(_ reason: String) -> SettingsError { SettingsError("\(name) \(reason)\(shown).") }
        switch spec.kind {
        case .string:
            guard let s = value.stringValue, !s.isEmpty else { throw bad("must be a non-empty string") }
            return value
        case .optionalString:
            guard value.isNull || value.stringValue != nil else { throw bad("must be a string or null") }
            return value.stringValue == "" ? .null : value
        case .optionalVersion:
            if value.isNull || value.stringValue == "" { return .null }
            guard let s = value.stringValue, Version(lenient: s) != nil else {
                throw SettingsError("\(name) must be a version such as 1.4.0 or 2.0.0-alpha.3, or null.")
            }
            return value
        case .path, .optionalPath:
            if value.isNull, case .optionalPath = spec.kind { return .null }
            guard let s = value.stringValue, !s.isEmpty, !s.contains("\0") else { throw bad("must be a path") }
            return .string(absolute(s))
        case .integer(let range):
            guard let n = value.intValue else { throw bad("must be a whole number") }
            guard range.contains(n) else { throw bad("must be between \(range.lowerBound) and \(range.upperBound)") }
            return .number(n)
        case .boolean:
            guard value.boolValue != nil else { throw bad("must be true or false") }
            return value
        case .url:
            guard let s = value.stringValue else { throw bad("must be a URL string") }
            try checkURL(s, name: name, allowFile: spec.key == "gitBaseUrl")
            return value
        case .urlList:
            guard let list = value.arrayValue, !list.isEmpty else { throw bad("must be a non-empty list of URLs") }
            for item in list {
                guard let s = item.stringValue else { throw bad("must hold strings only") }
                try checkURL(s, name: name)
            }
            return value
        case .originList:
            guard let list = value.arrayValue else { throw bad("must be a list of origins") }
            for item in list {
                guard let s = item.stringValue, isOrigin(s) else {
                    throw SettingsError("\(name) entries must look like https://host:port, with no path, not \(show(item)).")
                }
            }
            return value
        case .fileMode:
            guard let s = value.stringValue, let mode = Int(s, radix: 8), (0...0o777).contains(mode) else {
                throw bad("must be octal permission bits such as \"0660\"")
            }
            return value
        case .stringList:
            guard let list = value.arrayValue, list.allSatisfy({ ($0.stringValue ?? "").isEmpty == false }) else {
                throw bad("must be a list of non-empty strings")
            }
            return value
        case .choice(let options):
            guard let s = value.stringValue, options.contains(s) else {
                throw bad("must be one of \(options.joined(separator: ", "))")
            }
            return value
        case .scopeMap:
            guard let scopes = value.objectValue else { throw SettingsError("\(name) must be an object of scopes, {\"@scope\": {\"registry\": URL}}.") }
            for scope in scopes {
                guard scope.key.hasPrefix("@"), scope.key.count > 1, !scope.key.contains("/") else {
                    throw SettingsError("\(name): '\(scope.key.prefix(100))' is not a scope; write it as @name.")
                }
                guard let registry = scope.value["registry"]?.stringValue else {
                    throw SettingsError("\(name): \(scope.key) needs a registry URL.")
                }
                try checkURL(registry, name: "\(name): \(scope.key).registry")
                if let token = scope.value["token"], token.stringValue == nil || token.stringValue!.isEmpty {
                    throw SettingsError("\(name): \(scope.key).token must be a non-empty string.")
                }
                for member in scope.value.objectValue ?? JSONObject() where member.key != "registry" && member.key != "token" {
                    throw SettingsError("\(name): \(scope.key) has an unknown field '\(member.key.prefix(50))'; only registry and token are read.")
                }
            }
            return value
        }
    }

    /// A value as an error message shows it: compact JSON, cut short.
    static func show(_ value: JSONValue) -> String {
        let text = JSONWriter.compact(value)
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        let cwd = FileManager.default.currentDirectoryPath
        return ((cwd as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    /// http is accepted only for loopback hosts, where tests run their fakes.
    static func checkURL(_ text: String, name: String, allowFile: Bool = false) throws {
        // Eject can clone from local repositories (tests, mirrors): gitBaseUrl may be file:///.
        if allowFile && text.hasPrefix("file:///") { return }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw SettingsError("\(name) must be an absolute URL, not '\(text.prefix(100))'.")
        }
        switch scheme {
        case "https": return
        case "http":
            if isLoopback(host) { return }
            throw SettingsError("\(name) is '\(text.prefix(100))': plain http is only allowed for loopback hosts; use https for \(host).")
        default:
            throw SettingsError("\(name) is '\(text.prefix(100))': \(scheme) URLs are not supported; use https.")
        }
    }

    public static func isLoopback(_ host: String) -> Bool { Loopback.isLoopback(host: host) }

    static func isOrigin(_ text: String) -> Bool {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()),
            let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil
        else { return false }
        return true
    }
}
