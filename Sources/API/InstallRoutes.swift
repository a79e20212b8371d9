import HTTPKit
import Install
import JSON
import Runner

/// POST /api/plugins/install, POST /api/plugins/uninstall, GET /api/plugins/installed.
struct InstallRoutes: Sendable {
    let service: InstallService

    func install(_ context: RequestContext) throws -> HTTPResponse {
        let name = try context.body.requiredString("name", "the npm package name")
        let version = try context.body.optionalString("version")
        let enable = try context.body.optionalBool("enable") ?? true
        let force = try context.body.optionalBool("force") ?? false
        return try .json(encoding: try service.install(
            name: name, version: version, enable: enable, force: force, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func uninstall(_ context: RequestContext) throws -> HTTPResponse {
        let name = try context.body.requiredString("name", "the npm package name")
        let purge = try context.body.optionalBool("purgeConfig") ?? false
        return try .json(encoding: try service.uninstall(
            name: name, purgeConfig: purge, operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    func installed(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.installed())
    }
}
