import HTTPKit
import Install
import JSON
import Plugins
import Runner

/// POST /api/plugins/install, POST /api/plugins/uninstall, POST /api/plugins/:id/rollback, GET /api/plugins/installed.
struct InstallRoutes: Sendable {
    let service: InstallService
    let plugins: PluginService

    func install(_ context: RequestContext) throws -> HTTPResponse {
        let name = try context.body.requiredString("name", "the npm package name")
        let version = try context.body.optionalString("version")
        let enable = try context.body.optionalBool("enable") ?? true
        let rollbackOnFailure = try context.body.optionalBool("rollbackOnFailure") ?? true
        let force = try context.body.optionalBool("force") ?? false
        return try .json(encoding: try service.install(
            name: name, version: version, enable: enable, force: force, rollbackOnFailure: rollbackOnFailure,
            operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func uninstall(_ context: RequestContext) throws -> HTTPResponse {
        let name = try context.body.requiredString("name", "the npm package name")
        let purge = try context.body.optionalBool("purgeConfig") ?? false
        return try .json(encoding: try service.uninstall(
            name: name, purgeConfig: purge, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func rollback(_ context: RequestContext) throws -> HTTPResponse {
        let plugin = try plugins.resolve(context.parameter("id"))
        return try .json(encoding: try service.rollback(
            name: plugin.npmName, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func installed(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.installed())
    }
}
