/// What the agent registry routes answer; members in declaration order, nil as null.

/// `GET /api/registry/status`.
public struct AgentRegistryStatus: Encodable, Sendable, Equatable {
    public let registered: Bool
    public let agentId: String?
    /// Credentials in it, if any, masked.
    public let registryUrl: String
    public let uri: String?
    public let lastSyncAt: String?
    public let lastError: String?
    public let nextSyncAt: String?
}

/// `GET /api/registry/config`: the settings, never the secret.
public struct AgentRegistrySettings: Encodable, Sendable, Equatable {
    public let registryUrl: String
    public let autoRegister: Bool
    /// Milliseconds between heartbeats.
    public let syncInterval: Int
    public let agentName: String
    public let publicUri: String?
}

/// `POST /api/registry/register`.
public struct AgentRegistration: Encodable, Sendable, Equatable {
    public let ok = true
    public let agentId: String
}

/// `POST /api/registry/update-uri`: whether the registry was told (else the URI is kept for registering).
public struct AgentURIUpdate: Encodable, Sendable, Equatable {
    public let ok = true
    public let registered: Bool
}

/// `POST /api/registry/sync`.
public struct AgentSync: Encodable, Sendable, Equatable {
    public let ok = true
}
