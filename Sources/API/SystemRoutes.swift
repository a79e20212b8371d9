import Foundation
import HTTPKit
import JSON
import Stores

/// Health, settings and the operations API.
struct SystemRoutes: Sendable {
    let deps: Dependencies
    /// Monitors poll health often; the answer is checked at most twice a second.
    let healthCache = TimedCache<(Int, [UInt8])>(freshFor: .milliseconds(500))

    func health(_ context: RequestContext) throws -> HTTPResponse {
        let (status, body) = healthCache.body {
            let writable = access(deps.settings.stateDir, W_OK) == 0
            let databaseOK = deps.database.isUsable()
            let ok = writable && databaseOK
            let body: JSONValue = [
                "ok": .bool(ok),
                "version": .string(deps.version),
                "stateDir": ["usable": .bool(writable)],
                "database": ["usable": .bool(databaseOK)],
            ]
            return (ok ? 200 : 503, JSONWriter.compactBytes(body))
        }
        return .jsonBytes(body, status: status)
    }

    /// Which role the presented token carries, so a dashboard can show a read-only view.
    func session(_ context: RequestContext) throws -> HTTPResponse {
        .json(["role": .string(context.role?.rawValue ?? "read")])
    }

    func settings(_ context: RequestContext) throws -> HTTPResponse {
        .json(["settings": deps.settings.redactedJSON()])
    }

    func listOperations(_ context: RequestContext) throws -> HTTPResponse {
        var state: OperationRecord.State?
        if let text = context.query["state"] {
            guard let parsed = OperationRecord.State(rawValue: text) else {
                throw APIError.badRequest("state must be running, succeeded or failed.")
            }
            state = parsed
        }
        var limit = 100
        if let text = context.query["limit"] {
            guard let n = Int(text), n >= 1 else { throw APIError.badRequest("limit must be a positive whole number.") }
            limit = min(n, 500)
        }
        let target = context.query["target"]
        let records = try deps.operations.store.list(target: target, state: state, limit: limit)
        return .json(["operations": .array(records.map(\.json))])
    }

    func operation(_ context: RequestContext) throws -> HTTPResponse {
        let id = context.parameter("id").lowercased()
        guard let record = try deps.operations.store.get(id) else {
            throw APIError.notFound("No operation has the id \(context.parameter("id").prefix(64)).")
        }
        return .json(["operation": record.json])
    }
}
