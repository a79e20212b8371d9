import HTTPKit
import JSON
import Manifest

/// GET /api/manifest, POST /api/manifest/plan, POST /api/manifest/apply (docs/fleet.md). The plan and the apply take
/// the manifest itself as the body; `?skip=<npm name>` (repeatable, or comma-separated) leaves plugins as they are.
struct ManifestRoutes: Sendable {
    let service: ManifestService

    init(_ deps: Dependencies) {
        service = ManifestService(deps)
    }

    /// The members a manifest may have (anything else is a 400 naming it).
    static let fields: Set<String> = ["manifestVersion", "packages", "ejected", "plugins", "settings", "secrets"]

    /// The exact bytes of the export: sorted keys, two-space indentation, a trailing newline.
    func export(_ context: RequestContext) throws -> HTTPResponse {
        var response = HTTPResponse.jsonBytes(try service.export().bytes)
        response.setHeader("Content-Disposition", "attachment; filename=\"plugind-manifest.json\"")
        return response
    }

    func plan(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.plan(try Manifest(parsing: .object(context.body)), skip: Self.skip(context)))
    }

    func apply(_ context: RequestContext) throws -> HTTPResponse {
        let manifest = try Manifest(parsing: .object(context.body))
        return try .json(encoding: try service.apply(
            manifest, skip: Self.skip(context), operationId: context.request.header("x-operation-id"), requestId: context.requestId))
    }

    static func skip(_ context: RequestContext) -> Set<String> {
        Set(context.query.items.filter { $0.name == "skip" }.flatMap { $0.value.split(separator: ",").map(String.init) }.filter { !$0.isEmpty })
    }
}

extension ManifestService {
    /// Built from what the routes already have (the wiring builds the same one for recovery).
    public init(_ deps: Dependencies) {
        self.init(
            plugins: deps.plugins, install: deps.install, eject: deps.eject, operations: deps.operations, configFile: deps.agentConfig,
            reasons: deps.restartReasons, verdicts: deps.install.verdictWaiting)
    }
}
