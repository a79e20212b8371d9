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

    func register(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.register(uri: try context.body.optionalString("uri")))
    }

    func updateURI(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.updateURI(try context.body.requiredString("uri", "the agent's absolute public http(s) URL")))
    }

    func sync(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.sync())
    }
}
