import Eject
import HTTPKit
import JSON
import Plugins

/// POST /api/plugins/:id/eject|sync|reinject and GET /api/plugins/ejected.
struct EjectRoutes: Sendable {
    let service: EjectService
    let plugins: PluginService

    func eject(_ context: RequestContext) throws -> HTTPResponse {
        let plugin = try plugins.resolve(context.parameter("id"))
        return try .json(encoding: try service.eject(npmName: plugin.npmName, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func sync(_ context: RequestContext) throws -> HTTPResponse {
        let plugin = try plugins.resolve(context.parameter("id"))
        let pull = try context.body.optionalBool("pull") ?? true
        return try .json(encoding: try service.sync(npmName: plugin.npmName, pull: pull, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func reinject(_ context: RequestContext) throws -> HTTPResponse {
        let plugin = try plugins.resolve(context.parameter("id"))
        let force = try context.body.optionalBool("force") ?? false
        return try .json(encoding: try service.reinject(npmName: plugin.npmName, force: force, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func ejected(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: service.ejected())
    }
}
