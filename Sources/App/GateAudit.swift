import Audit
import HTTPKit
import Plugins

/// The gates' recorder of changing requests, kept as the audit trail. A target under `/api/plugins` is recorded by
/// its npm name when plugind knows the plugin (so `openai` and `@elizaos/plugin-openai` are one subject), else as
/// given; the agent registry routes act on no plugin (their body's `name` is the agent's), so they have none.
struct GateAudit: MutationRecorder {
    let trail: AuditTrail
    let plugins: PluginService

    func begin(_ mutation: Mutation) -> any MutationScope {
        var target: String?
        if mutation.route.hasPrefix("/api/plugins"), let given = mutation.target {
            target = (try? plugins.resolve(given))?.npmName ?? given
        }
        return Scope(scope: trail.begin(
            requestId: mutation.requestId, role: mutation.caller?.role.rawValue, tokenId: mutation.caller?.tokenId,
            tokenLabel: mutation.caller?.tokenLabel, method: mutation.method, route: mutation.route, target: target))
    }

    struct Scope: MutationScope {
        let scope: AuditScope
        func run(_ body: () throws -> HTTPResponse) throws -> HTTPResponse { try scope.run(body) }
        func finish(status: Int) { scope.finish(status: status) }
    }
}
