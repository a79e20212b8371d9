import JSON

// What the plugin routes answer, member for member in the order the API has always written them (ETags depend on
// the bytes). Optional members are written as null.

/// GET /api/plugins.
public struct PluginList: Encodable, Sendable {
    public let plugins: [PluginEntry]
}

/// The list's filters (`?category=`, `?enabled=`): which entries a filtered list keeps.
public struct PluginFilter: Sendable {
    public let category: String?
    public let enabled: Bool?

    public init(category: String? = nil, enabled: Bool? = nil) {
        self.category = category
        self.enabled = enabled
    }

    /// No filter: the whole list.
    public var keepsAll: Bool { category == nil && enabled == nil }

    public func keeps(category entryCategory: String, enabled entryEnabled: Bool) -> Bool {
        (category == nil || entryCategory == category) && (enabled == nil || entryEnabled == enabled)
    }
}

/// GET /api/plugins/:id.
public struct PluginDetails: Encodable, Sendable {
    public let plugin: PluginEntry
}

/// One plugin as the API shows it: identity, state, parameters with their values masked, validation.
public struct PluginEntry: Encodable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let description: String
    public let category: String
    public let enabled: Bool
    public let isActive: Bool
    public let configured: Bool
    /// Why the runtime could not load it (secrets scrubbed), `not installed`, or null.
    public let loadError: String?
    public let parameters: [PluginParameterEntry]
    public let validationErrors: [FieldIssue]
    public let validationWarnings: [FieldIssue]
    public let npmName: String?
    public let version: String?
    public let source: String
    public let available: Bool
    // Milady's app reads these (docs/milady-compatibility.md).
    /// The shown parameters' keys, in order.
    public let configKeys: [String]
    /// The plugin's primary key (the catalogue's `envKey`, else its first required secret, else its first secret).
    public let envKey: String?
    /// Plugins this one needs, as the catalogue or the package names them; null when neither says.
    public let pluginDeps: [String]?
    /// UI hints per parameter key, as the catalogue or the package gives them; null when neither does.
    public let configUiHints: JSONValue?
    /// An icon URL or emoji, when the catalogue or the package names one.
    public let icon: String?
}

/// One declared parameter, with its current value masked when sensitive.
public struct PluginParameterEntry: Encodable, Sendable, Equatable {
    public let key: String
    public let type: String
    public let description: String
    public let required: Bool
    public let sensitive: Bool
    public let `default`: String?
    public let options: [String]?
    public let isSet: Bool
    public let currentValue: String?
    public let blocked: Bool
}

/// PUT /api/plugins/:id.
public struct PluginUpdateResult: Encodable, Sendable {
    public let ok = true
    public let plugin: PluginEntry
    public let requiresRestart: Bool
    /// Ids of the plugins the change touches, sorted.
    public let affectedPlugins: [String]
    /// Accepted, but worth a word: the plugin is left enabled with settings missing or invalid (which ones, by key).
    public let warnings: [String]
    /// Milady's: plugind restarts the agent by itself because of this change (a runtime is attached, `autoRestart` on).
    public let restarting: Bool
}

/// GET /api/core/status.
public struct CoreStatus: Encodable, Sendable {
    public let available = true
    public let corePlugins: [String]
    public let optionalCorePlugins: [String]
}

/// GET /api/plugins/core.
public struct CoreList: Encodable, Sendable {
    public struct Core: Encodable, Sendable {
        public let name: String
        public let npmName: String
        public let loaded: Bool
        public let required = true
    }

    public struct OptionalCore: Encodable, Sendable {
        public let name: String
        public let npmName: String
        public let loaded: Bool
        public let required = false
        public let enabled: Bool
    }

    public let core: [Core]
    public let optionalCore: [OptionalCore]
}

/// POST /api/plugins/core/toggle.
public struct CoreToggleResult: Encodable, Sendable {
    public let ok = true
    public let requiresRestart: Bool
    /// Milady's: plugind restarts the agent by itself because of this change.
    public let restarting: Bool
    /// Milady's: one sentence on what happened, for a notice.
    public let message: String
}

/// POST /api/plugins/:id/test: the plugin's own check, secrets scrubbed.
public struct PluginTestResult: Encodable, Sendable {
    public struct Check: Encodable, Sendable {
        public let message: String
        public let durationMs: Int
        /// What the plugin reported besides, as it reported it; nil leaves the member out (null: it did not read back).
        public let details: JSONValue?

        enum CodingKeys: String, CodingKey { case message, durationMs, details }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(durationMs, forKey: .durationMs)
            if let details { try container.encode(details, forKey: .details) }
        }
    }

    public let ok: Bool
    public let result: Check
    // Milady's app reads the outcome at the top level: `success`, `pluginId`, `message` or `error`, `durationMs`.
    public let success: Bool
    public let pluginId: String
    public let message: String
    /// The check's message when it failed; null when it passed.
    public let error: String?
    public let durationMs: Int

    public init(ok: Bool, result: Check, pluginId: String) {
        self.ok = ok
        self.result = result
        self.success = ok
        self.pluginId = pluginId
        self.message = result.message
        self.error = ok ? nil : result.message
        self.durationMs = result.durationMs
    }
}
