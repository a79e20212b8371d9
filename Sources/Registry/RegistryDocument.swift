import JSON

/// What one upstream document held once read: its normalised entries and what had to be left out.
public struct RegistryDocument: Sendable {
    /// Which of the accepted shapes the document had.
    public enum Format: String, Sendable {
        /// `{lastUpdatedAt, registry: {<npm name>: entry}}`, with or without the registry-v2 envelope.
        case full
        /// `index.json`: `{<npm name>: "github:owner/repo"}`.
        case index
    }

    public var format: Format
    /// Entries sorted by name (case-insensitively, then as written).
    public var entries: [RegistryEntry]
    /// Entries that could not be understood and were left out.
    public var skipped: Int
    /// Why the first few skipped entries were left out (`name: reason`).
    public var skippedReasons: [String]
    /// The document's own `lastUpdatedAt`.
    public var lastUpdatedAt: String?
    /// `schemaVersion` of a registry-v2 document (`registry-v2`).
    public var schemaVersion: String?
    /// Things worth a log line that did not stop reading (a `counts.total` that disagrees, …).
    public var warnings: [String]

    public init(
        format: Format, entries: [RegistryEntry], skipped: Int = 0, skippedReasons: [String] = [], lastUpdatedAt: String? = nil,
        schemaVersion: String? = nil, warnings: [String] = []
    ) {
        self.format = format
        self.entries = entries
        self.skipped = skipped
        self.skippedReasons = skippedReasons
        self.lastUpdatedAt = lastUpdatedAt
        self.schemaVersion = schemaVersion
        self.warnings = warnings
    }
}

/// Why a whole document was refused (single entries are skipped instead).
public struct RegistryDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
