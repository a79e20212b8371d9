/// Where the agent registers and how often it reports. Built by the executable from the settings.
public struct AgentRegistryConfiguration: Sendable {
    /// The shortest heartbeat interval the settings accept.
    public static let minimumSyncIntervalMs = 1000

    /// The registry's base URL, without trailing slashes (`agentRegistryUrl`).
    public var registryURL: String
    /// Whether plugind registers by itself at start when a public URI is known (`autoRegister`).
    public var autoRegister: Bool
    /// Milliseconds between heartbeats (`syncIntervalMs`); the public initialiser keeps it at 1000 or more.
    public var syncIntervalMs: Int
    /// The name the agent is listed under (`agentName`), unless the heartbeat content names it.
    public var agentName: String
    /// The agent's public URI from the settings file (`publicUri`); a URI set through update-uri wins.
    public var publicURI: String?
    /// The first retry after a failure waits about this long; each further failure doubles it.
    public var retryBaseMs: Int
    /// No retry waits longer than this.
    public var retryCapMs: Int

    public init(
        registryURL: String = "https://registry.elizaos.com", autoRegister: Bool = false, syncIntervalMs: Int = 300_000,
        agentName: String = "agent", publicURI: String? = nil, retryBaseMs: Int = 2_000, retryCapMs: Int = 300_000
    ) {
        var base = Substring(registryURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        self.registryURL = String(base)
        self.autoRegister = autoRegister
        self.syncIntervalMs = max(syncIntervalMs, Self.minimumSyncIntervalMs)
        self.agentName = agentName
        self.publicURI = publicURI.flatMap { $0.isEmpty ? nil : $0 }
        self.retryBaseMs = max(retryBaseMs, 1)
        self.retryCapMs = max(retryCapMs, self.retryBaseMs)
    }

    /// How long a heartbeat lease lasts: long enough to cover the holder's longest sleep twice over,
    /// so a live holder always renews it in time; a dead holder is noticed sooner by its pid.
    var leaseDurationMs: Int {
        2 * max(syncIntervalMs, retryCapMs) + 5_000
    }
}
