/// Which plugins are core (always loaded) and optional-core (off unless allowed).
public struct CorePolicy: Sendable {
    public let core: [String]
    public let optional: [String]
    private let coreSet: Set<String>
    private let optionalSet: Set<String>

    public init(core: [String], optional: [String]) {
        self.core = core
        self.optional = optional
        self.coreSet = Set(core)
        self.optionalSet = Set(optional)
    }

    public func isCore(_ npmName: String) -> Bool { coreSet.contains(npmName) }
    public func isOptionalCore(_ npmName: String) -> Bool { optionalSet.contains(npmName) }

    /// Milady's defaults: 18 core and 14 optional-core `@elizaos/plugin-*` packages.
    public static let miladyCore = [
        "sql", "local-embedding", "secrets-manager", "form", "knowledge", "rolodex", "trajectory-logger", "agent-orchestrator",
        "coding-agent", "cron", "shell", "plugin-manager", "agent-skills", "pdf", "trust", "todo", "personality", "experience",
    ].map { "@elizaos/plugin-" + $0 }
    public static let miladyOptional = [
        "cua", "obsidian", "code", "repoprompt", "claude-code-workbench", "computeruse", "browser", "vision", "cli", "discord",
        "telegram", "twitch", "edge-tts", "elevenlabs",
    ].map { "@elizaos/plugin-" + $0 }
    /// Toggling these also writes `features.<id>`, as Milady expects (read by the agent-config edits).
    package static let featureFlagged: Set<String> = ["vision", "browser", "computeruse"]
}
