import JSON

// What the plugin routes answer, member for member in the order the API has always written them (ETags depend on
// the bytes). Optional members are written as null.

/// GET /api/plugins.
public struct PluginList: Encodable, Sendable {
    public let plugins: [PluginEntry]
}

/// GET /api/plugins/:id.
public struct PluginDetails: Encodable, Sendable {
    public let plugin: PluginEntry
}

/// One plugin as the API shows it: identity, state, parameters with their values masked, validation.
public struct PluginEntry: Encodable, Sendable {
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
}

/// One declared parameter, with its current value masked when sensitive.
public struct PluginParameterEntry: Encodable, Sendable {
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
}
