import HTTPKit
import Install
import JSON
import Plugins
import Runner

/// POST /api/plugins/install, POST /api/plugins/uninstall, POST /api/plugins/:id/rollback, GET /api/plugins/installed.
struct InstallRoutes: Sendable {
    let service: InstallService
    let plugins: PluginService
    /// Installs and uninstalls from Milady's app answer within this, or `202` with the operation (EarlyAnswer).
    let early: EarlyAnswer

    /// `autoRestart` is Milady's: false leaves the restart to come (the change is done, nobody waits for the verdict).
    func install(_ context: RequestContext) throws -> HTTPResponse {
        let name = try context.body.requiredString("name", "the npm package name")
        let version = try context.body.optionalString("version")
        let enable = try context.body.optionalBool("enable") ?? true
        let rollbackOnFailure = try context.body.optionalBool("rollbackOnFailure") ?? true
        let force = try context.body.optionalBool("force") ?? false
        let awaitVerdict = try context.body.optionalBool("autoRestart") ?? true
        let (service, requestId) = (service, context.requestId)
        let run = { @Sendable (operationId: String?) throws -> HTTPResponse in
            try .json(encoding: try service.install(
                name: name, version: version, enable: enable, force: force, rollbackOnFailure: rollbackOnFailure, awaitVerdict: awaitVerdict,
                operationId: operationId, requestId: requestId))
        }
        guard EarlyAnswer.applies(to: context) else { return try run(context.request.header("x-operation-id")) }
        return try early.answer(run) { id in
            try .json(encoding: PendingChange(
                operationId: id, message: "Installing \(name) takes longer; it goes on, and the plugin list shows it once it is done."), status: .accepted)
        }
    }

    /// `autoRestart` (Milady's) is accepted and changes nothing: an uninstall never waits for a verdict.
    func uninstall(_ context: RequestContext) throws -> HTTPResponse {
        let name = try context.body.requiredString("name", "the npm package name")
        let purge = try context.body.optionalBool("purgeConfig") ?? false
        _ = try context.body.optionalBool("autoRestart")
        let (service, requestId) = (service, context.requestId)
        let run = { @Sendable (operationId: String?) throws -> HTTPResponse in
            try .json(encoding: try service.uninstall(name: name, purgeConfig: purge, operationId: operationId, requestId: requestId))
        }
        guard EarlyAnswer.applies(to: context) else { return try run(context.request.header("x-operation-id")) }
        return try early.answer(run) { id in
            try .json(encoding: PendingChange(
                operationId: id, message: "Uninstalling \(name) takes longer; it goes on, and the plugin list shows it once it is done."), status: .accepted)
        }
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
