import HTTPKit
import Runtime

/// GET /api/runtime and POST /api/runtime/restart.
struct RuntimeRoutes: Sendable {
    let service: RuntimeService

    func state(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.state())
    }

    func restart(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: try service.restartNow())
    }
}
