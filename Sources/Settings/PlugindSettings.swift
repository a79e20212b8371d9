import Foundation
import Adapters
import JSON
import SemVer

/// A setting that is missing, misspelt or out of range; the message names it.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The effective settings: defaults, then the settings file, then `PLUGIND_*` variables, then flags.
public struct PlugindSettings: Sendable {
    /// Every setting's value by its dotted key, already validated.
    public private(set) var values: [String: JSONValue]

    public init(file: String? = nil, environment: [String: String] = [:], overrides: [(key: String, value: String)] = []) throws {
        var values: [String: JSONValue] = [:]
        for spec in SettingsTable.all { values[spec.key] = spec.defaultValue }
        if let file {
            for (key, value) in try Self.readFile(file) { values[key] = value }
        }
        for spec in SettingsTable.all {
            if let text = environment[spec.environment] {
                values[spec.key] = try Self.value(fromText: text, for: spec, source: spec.environment)
            }
        }
        for (key, text) in overrides {
            guard let spec = SettingsTable.spec(key) else { throw SettingsError("Unknown setting '\(key)'.") }
            values[key] = try Self.value(fromText: text, for: spec, source: "--set \(key)")
        }
        for spec in SettingsTable.all {
            values[spec.key] = try Self.validate(values[spec.key] ?? .null, spec: spec)
        }
        let explicit = Set((try file.map(Self.readFile) ?? []).map(\.0)).union(overrides.map(\.key))
            .union(SettingsTable.all.filter { environment[$0.environment] != nil }.map(\.key))
        if !explicit.contains("maxConcurrentOperations"), let threads = values["threads"]?.intValue {
            values["maxConcurrentOperations"] = .number(min(4, threads - 1))
        }
        self.values = values
        try checkConsistency()
    }

    private func checkConsistency() throws {
        if maxConcurrentOperations >= threads {
            throw SettingsError("maxConcurrentOperations (\(maxConcurrentOperations)) must be below threads (\(threads)) so short requests always find a worker.")
        }
        let bridge = string("runtimeBridge") ?? ""
        if bridge != "none" && !bridge.hasPrefix("unix:/") {
            guard let url = URLComponents(string: bridge), url.scheme == "http", let host = url.host, Self.isLoopback(host) else {
                throw SettingsError("runtimeBridge must be unix:/absolute/path, http://127.0.0.1:PORT or none, not '\(bridge)'.")
            }
        }
        if timeout("operationMs") >= 900_000 {
            throw SettingsError("timeouts.operationMs must stay below nginx's fastcgi_read_timeout of 900 s.")
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
    /// The id of the group `agentConfigGroup` names; nil when unset, an error when no such group exists.
    public func agentConfigGroupID() throws -> gid_t? {
        guard let group = string("agentConfigGroup") else { return nil }
        guard let entry = getgrnam(group) else {
            throw SettingsError("agentConfigGroup names '\(group)', which is not a group on this host; create it or unset the setting.")
        }
        return entry.pointee.gr_gid
    }
    public var logLevel: String { string("logLevel")! }
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
            throw SettingsError("Cannot read the settings file \(path).")
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
        for (key, _) in result where SettingsTable.spec(key) == nil {
            throw SettingsError("Unknown setting '\(key)' in \(path).")
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

    static func validate(_ value: JSONValue, spec: SettingSpec) throws -> JSONValue {
        let name = spec.key
        switch spec.kind {
        case .string:
            guard let s = value.stringValue, !s.isEmpty else { throw SettingsError("\(name) must be a non-empty string.") }
            return value
        case .optionalString:
            guard value.isNull || value.stringValue != nil else { throw SettingsError("\(name) must be a string or null.") }
            return value.stringValue == "" ? .null : value
        case .optionalVersion:
            if value.isNull || value.stringValue == "" { return .null }
            guard let s = value.stringValue, Version(lenient: s) != nil else {
                throw SettingsError("\(name) must be a version such as 1.4.0 or 2.0.0-alpha.3, or null.")
            }
            return value
        case .path, .optionalPath:
            if value.isNull, case .optionalPath = spec.kind { return .null }
            guard let s = value.stringValue, !s.isEmpty, !s.contains("\0") else { throw SettingsError("\(name) must be a path.") }
            return .string(absolute(s))
        case .integer(let range):
            guard let n = value.intValue else { throw SettingsError("\(name) must be a whole number.") }
            guard range.contains(n) else { throw SettingsError("\(name) must be between \(range.lowerBound) and \(range.upperBound), not \(n).") }
            return .number(n)
        case .boolean:
            guard value.boolValue != nil else { throw SettingsError("\(name) must be true or false.") }
            return value
        case .url:
            guard let s = value.stringValue else { throw SettingsError("\(name) must be a URL string.") }
            try checkURL(s, name: name)
            return value
        case .urlList:
            guard let list = value.arrayValue, !list.isEmpty else { throw SettingsError("\(name) must be a non-empty list of URLs.") }
            for item in list {
                guard let s = item.stringValue else { throw SettingsError("\(name) must hold strings only.") }
                try checkURL(s, name: name)
            }
            return value
        case .originList:
            guard let list = value.arrayValue else { throw SettingsError("\(name) must be a list of origins.") }
            for item in list {
                guard let s = item.stringValue, isOrigin(s) else {
                    throw SettingsError("\(name) entries must look like https://host:port, with no path.")
                }
            }
            return value
        case .fileMode:
            guard let s = value.stringValue, let mode = Int(s, radix: 8), (0...0o777).contains(mode) else {
                throw SettingsError("\(name) must be octal permission bits such as \"0660\".")
            }
            return value
        case .stringList:
            guard let list = value.arrayValue, list.allSatisfy({ ($0.stringValue ?? "").isEmpty == false }) else {
                throw SettingsError("\(name) must be a list of non-empty strings.")
            }
            return value
        case .choice(let options):
            guard let s = value.stringValue, options.contains(s) else {
                throw SettingsError("\(name) must be one of \(options.joined(separator: ", ")).")
            }
            return value
        case .scopeMap:
            guard let scopes = value.objectValue else { throw SettingsError("\(name) must be an object of scopes, {\"@scope\": {\"registry\": URL}}.") }
            for scope in scopes {
                guard scope.key.hasPrefix("@"), scope.key.count > 1, !scope.key.contains("/") else {
                    throw SettingsError("\(name): '\(scope.key.prefix(100))' is not a scope; write it as @name.")
                }
                guard let registry = scope.value["registry"]?.stringValue else {
                    throw SettingsError("\(name).\(scope.key) needs a registry URL.")
                }
                try checkURL(registry, name: "\(name).\(scope.key).registry")
                if let token = scope.value["token"], token.stringValue == nil || token.stringValue!.isEmpty {
                    throw SettingsError("\(name).\(scope.key).token must be a non-empty string.")
                }
                for member in scope.value.objectValue ?? JSONObject() where member.key != "registry" && member.key != "token" {
                    throw SettingsError("\(name).\(scope.key) has an unknown field '\(member.key.prefix(50))'; only registry and token are read.")
                }
            }
            return value
        }
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        let cwd = FileManager.default.currentDirectoryPath
        return ((cwd as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    /// http is accepted only for loopback hosts, where tests run their fakes.
    static func checkURL(_ text: String, name: String) throws {
        // Eject can clone from local repositories (tests, mirrors).
        if name == "gitBaseUrl" && text.hasPrefix("file:///") { return }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw SettingsError("\(name): '\(text)' is not an absolute URL.")
        }
        switch scheme {
        case "https": return
        case "http":
            if isLoopback(host) { return }
            throw SettingsError("\(name): plain http is only allowed for loopback hosts; use https for \(host).")
        default:
            throw SettingsError("\(name): '\(scheme)' URLs are not supported; use https.")
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
