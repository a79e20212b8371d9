import Foundation
import HTTPKit
import JSON
import Operations
import Plugins
import Registry

/// The community plugin registry: list, details, search, refresh.
struct RegistryRoutes: Sendable {
    let registry: RegistryService
    let plugins: PluginService
    let operations: OperationRunner
    let cache: ResponseCache

    /// The list answers kept whole: a 290-entry registry's full list (250 KB) is, a 10,000-entry one's (9 MB) is
    /// built from the catalogue for each request instead of held beside it (its ETag is still kept).
    static let maxKeptList = 1 << 20

    /// What plugind knows about each registry package: installed, loaded, bundled.
    func status() -> RegistryService.StatusLookup {
        let lookup = plugins.statusLookup()
        return { name in
            let known = lookup(name)
            return RegistryPluginStatus(
                installed: known.installedVersion != nil, installedVersion: known.installedVersion ?? nil, loaded: known.loaded,
                bundled: known.bundled)
        }
    }

    func list(_ context: RequestContext) throws -> HTTPResponse {
        let (limit, offset) = try RegistryService.page(limit: context.query["limit"], offset: context.query["offset"])
        let kind = context.query["kind"]
        let stamp = [registry.stamp(), plugins.stamp(), "\(limit.map(String.init) ?? "")|\(offset)|\(kind ?? "")"].joined(separator: "|")
        let body = try cache.body(for: stamp) { try registry.listBody(limit: limit, offset: offset, kind: kind, status: status()) }
        return HTTPResponse.jsonBytes(body.body).conditional(on: context.request, etag: body.etag)
    }

    func details(_ context: RequestContext) throws -> HTTPResponse {
        HTTPResponse.jsonBytes(try registry.detailsBody(context.parameter("name"), status: status())).conditional(on: context.request)
    }

    func search(_ context: RequestContext) throws -> HTTPResponse {
        let query = try RegistryService.searchQuery(context.query["q"])
        let limit = try RegistryService.searchLimit(context.query["limit"])
        return .jsonBytes(try registry.search(query, limit: limit, status: status()))
    }

    func refresh(_ context: RequestContext) throws -> HTTPResponse {
        do {
            let refreshed = try operations.perform(
                kind: "registry-refresh", target: "plugin-registry", operationId: context.request.header("x-operation-id"),
                requestId: context.requestId
            ) { ctx in
                ctx.phase("fetching", progress: nil)
                return try registry.refresh()
            }
            return try .json(encoding: refreshed)
        } catch OperationError.busy {
            // A refresh is already fetching: join it (the service shares one fetch) instead of refusing.
            return try .json(encoding: registry.refresh())
        }
    }
}
