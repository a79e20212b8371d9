import AgentRegistry
import HTTPKit

/// /api/registry/status|register|update-uri|sync|config: registering this agent with the agent registry.
struct AgentRegistryRoutes: Sendable {
    let service: AgentRegistryService

    func status(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.status())
    }

    func config(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: service.config())
    }

    /// Milady's app (made for an on-chain registry) sends `name`, `endpoint` and `tokenURI`: `endpoint`, else
    /// `tokenURI`, stands for `uri` (the agent's public URL); `name` is accepted and not used (the name is a setting,
    /// `agentName`). docs/milady-compatibility.md.
    func register(_ context: RequestContext) throws -> HTTPResponse {
        let uri = try context.body.optionalString("uri") ?? context.body.optionalString("endpoint") ?? context.body.optionalString("tokenURI")
        _ = try context.body.optionalString("name")
        return try .json(encoding: try service.register(uri: uri))
    }

    /// `tokenURI` (Milady's) stands for `uri`.
    func updateURI(_ context: RequestContext) throws -> HTTPResponse {
        let uri = try context.body.optionalString("uri") ?? context.body.optionalString("tokenURI")
            ?? context.body.requiredString("uri", "the agent's absolute public http(s) URL")
        return try .json(encoding: try service.updateURI(uri))
    }

    /// Milady's `name`, `endpoint` and `tokenURI` are accepted and not used: a sync sends what plugind knows.
    func sync(_ context: RequestContext) throws -> HTTPResponse {
        for field in ["name", "endpoint", "tokenURI"] { _ = try context.body.optionalString(field) }
        return try .json(encoding: try service.sync())
    }
}
