import Foundation
import HTTPKit
import JSON
import Stores

/// Health, settings and the operations API.
struct SystemRoutes: Sendable {
    let deps: Dependencies
    /// Monitors poll health often; the answer is checked at most twice a second.
    /// (Encoded once per check, not per request.)
    let healthCache = TimedCache<(status: HTTPStatus, body: [UInt8])>(freshFor: .milliseconds(500))
    /// `GET /api/operations` answers per change of the operations and per query.
    let operationLists = ResponseCache(limit: 64)
    /// The command that creates an admin token for this instance, worked out once (it may read the settings file).
    let tokenCommand: String

    init(deps: Dependencies) {
        self.deps = deps
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let uid = geteuid()
        tokenCommand = deps.settings.tokenCommand(executable: executable, systemUser: uid != 0 && uid < 1000)
    }

    func health(_ context: RequestContext) throws -> HTTPResponse {
        let health = healthCache.body {
            let writable = access(deps.settings.stateDir, W_OK) == 0
            let databaseOK = deps.database.isUsable()
            let report = HealthReport(
                ok: writable && databaseOK, version: deps.version, stateDir: .init(usable: writable), database: .init(usable: databaseOK))
            return (report.ok ? .ok : .serviceUnavailable, (try? JSONEncoding.bytes(report)) ?? [])
        }
        return .jsonBytes(health.body, status: health.status)
    }

    /// Which role the presented token carries, so a dashboard can show a read-only view.
    func session(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: SessionRole(role: context.role?.rawValue ?? "read"))
    }

    /// Open: what the sign-in page tells someone without a token. A command, never a secret.
    func signIn(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: SignInHint(tokenCommand: tokenCommand))
    }

    func settings(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: SettingsView(settings: deps.settings.redactedJSON()))
    }

    /// Prometheus' text exposition of every series; 404 naming the setting when metrics are off.
    func metrics(_ context: RequestContext) throws -> HTTPResponse {
        guard let exposition = deps.metrics else {
            throw APIError.notFound("Metrics are off on this plugind; set 'metrics' to true to serve them.")
        }
        return HTTPResponse(
            status: .ok, headers: [("Content-Type", Self.prometheusContentType), ("Cache-Control", "no-store")], body: exposition())
    }

    /// Prometheus' text exposition format, version 0.0.4.
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

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
        let store = deps.operations.store
        // Built once per change of the operations: each record's log tail, result and checkpoint are JSON text to
        // parse, a hundred records per answer, and dashboards poll this list.
        let stamp = store.changeStamp() + "|\(target ?? "")|\(state?.rawValue ?? "")|\(limit)"
        let body = try operationLists.body(for: stamp) {
            try JSONEncoding.bytes(OperationList(operations: store.list(target: target, state: state, limit: limit)))
        }
        return HTTPResponse.jsonBytes(body.body)
    }

    func operation(_ context: RequestContext) throws -> HTTPResponse {
        let given = try context.parameter("id")
        let id = given.lowercased()
        guard let record = try deps.operations.store.get(id) else {
            throw APIError.notFound("No operation has the id \(given.prefix(64)).")
        }
        return try .json(encoding: OperationAnswer(operation: record))
    }
}

/// GET /api/health: 200 when both the state directory and the database are usable, else 503.
struct HealthReport: Encodable, Sendable {
    struct Usable: Encodable, Sendable {
        let usable: Bool
    }

    let ok: Bool
    let version: String
    let stateDir: Usable
    let database: Usable
}

/// GET /api/session.
struct SessionRole: Encodable {
    let role: String
}

/// GET /api/sign-in.
struct SignInHint: Encodable {
    let tokenCommand: String
}

/// GET /api/settings: the settings as the file would hold them, secrets redacted.
struct SettingsView: Encodable {
    let settings: JSONValue
}

/// GET /api/operations.
struct OperationList: Encodable {
    let operations: [OperationRecord]
}

/// GET /api/operations/:id.
struct OperationAnswer: Encodable {
    let operation: OperationRecord
}
