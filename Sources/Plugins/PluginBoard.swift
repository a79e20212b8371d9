import Foundation
import JSON
import Locking

/// Everything known about the plugins at one moment — inventory, agent config and runtime —
/// and the one set of rules that turns it into what the API shows.
struct PluginBoard {
    let plugins: [KnownPlugin]
    let keys: [String]
    let ids: [String: String]
    let config: JSONObject
    let runtime: RuntimeSnapshot?
    let core: CorePolicy
    /// Keys any plugin declares sensitive, or that look sensitive: masked everywhere.
    let sensitiveKeys: Set<String>
    /// Config key → the plugins declaring it.
    let declaredBy: [String: [String]]
    private let index: [String: Int]
    /// Secrets replaced while the runtime may still hold them.
    let retiredSecrets: [String]
    /// Each env key's stored value as text (`storedValue`), read once from the config: every plugin's entry asks for
    /// each of its parameters three or four times, and the config's members are a list searched from the end.
    private let storedValues: [String: String]

    init(plugins: [KnownPlugin], config: JSONObject, runtime: RuntimeSnapshot?, core: CorePolicy, retiredSecrets: [String] = []) {
        self.retiredSecrets = retiredSecrets
        self.plugins = plugins
        self.keys = plugins.map(\.key)
        self.ids = Self.ids(for: keys)
        self.config = config
        self.runtime = runtime
        self.core = core
        var sensitive: Set<String> = []
        var declared: [String: [String]] = [:]
        for plugin in plugins {
            for parameter in plugin.parameters {
                if parameter.sensitive { sensitive.insert(parameter.key) }
                declared[parameter.key, default: []].append(plugin.key)
            }
        }
        self.sensitiveKeys = sensitive
        self.declaredBy = declared
        self.index = Dictionary(plugins.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { a, _ in a })
        var stored: [String: String] = [:]
        // In order, so a later duplicate key wins, as it does when the config is read by key.
        for member in config["env"]?.objectValue ?? JSONObject() { stored[member.key] = Self.text(of: member.value) }
        self.storedValues = stored
    }

    /// The ids of the last set of plugins seen: a board is made for every version of the agent config, and the
    /// plugins it knows (which alone decide their ids) rarely change between two.
    private static let lastIds = Locked<(keys: [String], ids: [String: String])?>(nil)

    private static func ids(for keys: [String]) -> [String: String] {
        if let last = lastIds.withLock({ $0 }), last.keys == keys { return last.ids }
        let ids = PluginIdentity.assignIds(keys)
        lastIds.withLock { $0 = (keys, ids) }
        return ids
    }

    func plugin(_ key: String) -> KnownPlugin? { index[key].map { plugins[$0] } }
    func id(_ plugin: KnownPlugin) -> String { ids[plugin.key] ?? plugin.key }

    func resolve(_ text: String) throws(PluginError) -> KnownPlugin {
        switch PluginIdentity.resolve(text, keys: keys, ids: ids) {
        case .found(let key): return plugin(key)!
        case .ambiguous(let candidates): throw .ambiguous(text, candidates: candidates)
        case .notFound: throw .notFound(text)
        }
    }

    // MARK: The one enabled rule

    var allowList: [String] { config["plugins"]?["allow"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    func isAllowed(_ npmName: String) -> Bool {
        allowList.contains { PluginIdentity.npmName(fromConfigKey: $0) == npmName }
    }

    func isEnabled(_ plugin: KnownPlugin) -> Bool {
        if core.isCore(plugin.key) { return true }
        if core.isOptionalCore(plugin.key) { return isAllowed(plugin.key) }
        return config["plugins"]?["entries"]?[PluginIdentity.configKey(plugin.key)]?["enabled"]?.boolValue ?? false
    }

    func isLoaded(_ plugin: KnownPlugin) -> Bool {
        guard let npm = plugin.npmName else { return false }
        return runtime?.plugin(npm)?.loaded ?? false
    }

    /// Why a plugin cannot be checked: absent code first (enabling and restarting would not help), then disabled, then
    /// the agent's own load error, else a restart the agent has not had yet.
    func whyNotLoaded(_ plugin: KnownPlugin, scrub: (String) -> String) -> RuntimeError {
        let id = id(plugin)
        let reported = plugin.npmName.flatMap { runtime?.plugin($0) }
        if !plugin.available || reported?.error == Self.notInstalled { return .notInstalled(id) }
        if !isEnabled(plugin) { return .notEnabled(id) }
        if let error = reported?.error, !error.isEmpty { return .failedToLoad(id, reason: scrubStoredSecrets(scrub(error))) }
        return .notLoaded(id)
    }

    /// The load error the contract gives a plugin whose code is absent.
    static let notInstalled = "not installed"

    // MARK: Values

    /// The stored value of an env key as a string, nil when unset or empty.
    func storedValue(_ key: String) -> String? { storedValues[key] }

    /// A stored value as text; nil for null and for a value of only whitespace, which is no value: Milady's app
    /// counts it unset, and so does every check here.
    private static func text(of value: JSONValue) -> String? {
        let text: String?
        switch value {
        case .string(let s): text = s
        case .number(let n): text = n
        case .bool(let b): text = b ? "true" : "false"
        case .array, .object: text = JSONWriter.compact(value)
        case .null: text = nil
        }
        return text?.trimmingWhitespace().isEmpty == true ? nil : text
    }

    /// Stored sensitive values never leave in a runtime's error text.
    func scrubStoredSecrets(_ text: String) -> String {
        var secrets = retiredSecrets
        for member in config["env"]?.objectValue ?? JSONObject() where isSensitive(member.key) {
            if let value = member.value.stringValue { secrets.append(value) }
        }
        var result = text
        // Longest first, so a secret that contains another is replaced whole.
        for secret in secrets.filter({ $0.count >= 4 }).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: "****")
        }
        return result
    }

    func isSensitive(_ key: String) -> Bool { sensitiveKeys.contains(key) || ParameterRules.looksSensitive(key) }

    func shown(_ key: String) -> String? {
        guard let value = storedValue(key) else { return nil }
        return isSensitive(key) ? ParameterRules.mask(value) : value
    }

    // MARK: Validation

    static let knownPrefixes: [String: String] = [
        "ANTHROPIC_API_KEY": "sk-ant-", "OPENAI_API_KEY": "sk-", "GROQ_API_KEY": "gsk_", "XAI_API_KEY": "xai-", "OPENROUTER_API_KEY": "sk-or-",
    ]

    func validation(_ plugin: KnownPlugin) -> (errors: [FieldIssue], warnings: [FieldIssue]) {
        var errors: [FieldIssue] = []
        var warnings: [FieldIssue] = []
        for parameter in plugin.parameters where !parameter.blocked && !parameter.injected {
            guard let value = storedValue(parameter.key) else {
                if parameter.required {
                    if let fallback = parameter.defaultValue {
                        warnings.append(FieldIssue(field: parameter.key, message: "not set; the default \(isSensitive(parameter.key) ? "value" : "'\(fallback)'") is used"))
                    } else {
                        errors.append(FieldIssue(field: parameter.key, message: "is required"))
                    }
                }
                continue
            }
            if !ParameterRules.parses(value, as: parameter.type) {
                errors.append(FieldIssue(field: parameter.key, message: Self.typeMessage(parameter.type)))
            } else if let options = parameter.options, !options.isEmpty, !options.contains(value) {
                errors.append(FieldIssue(field: parameter.key, message: "must be one of: \(options.joined(separator: ", "))"))
            }
            if let prefix = Self.knownPrefixes[parameter.key], !value.hasPrefix(prefix) {
                warnings.append(FieldIssue(field: parameter.key, message: "usually starts with '\(prefix)'"))
            }
            if isSensitive(parameter.key) && value.unicodeScalars.count < 10 {
                warnings.append(FieldIssue(field: parameter.key, message: "looks too short for a secret"))
            }
        }
        return (errors, warnings)
    }

    static func typeMessage(_ type: ParameterType) -> String {
        switch type {
        case .number: "must be a number"
        case .boolean: "must be true or false"
        case .json: "must be valid JSON"
        case .string, .array: "must be text"
        }
    }

    func isConfigured(_ plugin: KnownPlugin) -> Bool {
        plugin.parameters.allSatisfy { p in
            !p.required || p.blocked || p.injected || storedValue(p.key) != nil || p.hasDefault
        }
    }

    // MARK: What the API shows

    func entry(_ plugin: KnownPlugin, scrub: (String) -> String) -> PluginEntry {
        let enabled = isEnabled(plugin)
        let runtimeEntry = plugin.npmName.flatMap { runtime?.plugin($0) }
        var loadError: String?
        if let error = runtimeEntry?.error, !error.isEmpty {
            loadError = scrubStoredSecrets(scrub(error))
        } else if enabled && !plugin.available {
            loadError = Self.notInstalled
        }
        let (errors, warnings) = validation(plugin)
        // Keys the hosting infrastructure injects are nobody's setting: not shown at all.
        let shownParameters = plugin.parameters.filter { !$0.injected }
        let keys = shownParameters.map(\.key)
        let envKey = plugin.extras.envKey.flatMap { ParameterRules.isInjected($0) ? nil : $0 }
            ?? shownParameters.first(where: { $0.required && isSensitive($0.key) })?.key
            ?? shownParameters.first(where: { isSensitive($0.key) })?.key
        return PluginEntry(
            id: id(plugin), name: plugin.name, description: plugin.description, category: plugin.category, enabled: enabled,
            isActive: runtimeEntry?.loaded ?? false, configured: isConfigured(plugin), loadError: loadError,
            parameters: shownParameters.map(parameterEntry), validationErrors: errors, validationWarnings: warnings,
            npmName: plugin.npmName, version: plugin.version, source: plugin.source.rawValue, available: plugin.available,
            configKeys: keys, envKey: envKey, pluginDeps: plugin.extras.pluginDeps, configUiHints: Self.hints(plugin.extras.configUiHints),
            icon: plugin.extras.icon)
    }

    /// UI hints without the keys the hosting infrastructure injects (they are not shown at all).
    static func hints(_ hints: JSONValue?) -> JSONValue? {
        guard let object = hints?.objectValue else { return hints }
        return .object(JSONObject(object.filter { !ParameterRules.isInjected($0.key) }))
    }

    func parameterEntry(_ parameter: PluginParameter) -> PluginParameterEntry {
        let sensitive = isSensitive(parameter.key)
        return PluginParameterEntry(
            key: parameter.key, type: parameter.type.rawValue, description: parameter.description, required: parameter.required,
            sensitive: sensitive, default: parameter.defaultValue.map { sensitive ? ParameterRules.mask($0) : $0 },
            options: parameter.options, isSet: storedValue(parameter.key) != nil, currentValue: shown(parameter.key),
            blocked: parameter.blocked)
    }
}
