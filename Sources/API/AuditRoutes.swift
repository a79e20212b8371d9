import Audit
import HTTPKit
import Plugins
import Stores

/// GET /api/audit: the audit trail, newest first, a page at a time.
struct AuditRoutes: Sendable {
    let store: AuditStore
    let plugins: PluginService

    /// One page: the entries and the cursor of the next (null on the last).
    struct Page: Encodable {
        let entries: [AuditEntry]
        let nextCursor: String?
    }

    func list(_ context: RequestContext) throws -> HTTPResponse {
        let q = context.query
        let plugins = plugins
        let query = try AuditQuery.parse(
            since: q["since"], until: q["until"], plugin: q["plugin"], limit: q["limit"], cursor: q["cursor"],
            aliases: { name in (try? plugins.resolve(name)).map { [$0.npmName, $0.id] } ?? [] })
        let page = try store.list(query)
        return try .json(encoding: Page(entries: page.entries, nextCursor: page.next.map(AuditQuery.cursor)))
    }
}
