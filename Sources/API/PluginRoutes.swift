import HTTPKit
import JSON
import Locking
import Plugins

/// GET/PUT /api/plugins, the core routes and /api/runtime: decode, call the plugin service, encode.
struct PluginRoutes: Sendable {
    let service: PluginService
    let cache: ResponseCache
    /// One plugin's details per stamp and plugin: the dashboard and scripts ask for the same few again and again.
    let detailsCache = ResponseCache(limit: 512)
    /// Every plugin's entry encoded once per stamp, which the list and each plugin's details are cut from.
    let encodedLists = StampedCache<EncodedPluginList>(limit: 2)

    func list(_ context: RequestContext) throws -> HTTPResponse {
        var enabled: Bool?
        if let text = context.query["enabled"] {
            guard let value = ["true": true, "false": false][text.lowercased()] else {
                throw APIError.badRequest("enabled must be true or false.")
            }
            enabled = value
        }
        let filter = PluginFilter(category: context.query["category"], enabled: enabled)
        let stamp = service.stamp()
        let body = try cache.body(for: Self.listKey(stamp, filter)) { try encodedList(stamp).list(filter) }
        return HTTPResponse.jsonBytes(body.body).conditional(on: context.request, etag: body.etag)
    }

    func get(_ context: RequestContext) throws -> HTTPResponse {
        let id = try context.parameter("id")
        let (stamp, key) = try service.detailsKey(id)
        let body = try detailsCache.body(for: stamp + "|" + key) {
            // A list encoded from a board newer than the stamp may no longer hold the key: ask the service then.
            try encodedList(stamp).details(key) ?? JSONEncoding.bytes(service.get(id))
        }
        return HTTPResponse.jsonBytes(body.body).conditional(on: context.request, etag: body.etag)
    }

    /// The entries of `stamp`, encoded once.
    private func encodedList(_ stamp: String) throws -> EncodedPluginList {
        try encodedLists.value(for: stamp) { try EncodedPluginList(service.keyedEntries(stamp: stamp), reusing: encodedLists.anyValue()) }
    }

    private static func listKey(_ stamp: String, _ filter: PluginFilter) -> String {
        stamp + "|\(filter.category ?? "")|\(filter.enabled.map(String.init) ?? "")"
    }

    /// A config write's new list, encoded and kept before the file is replaced: the readers of the new version find
    /// the list, the entries the details are cut from and the board ready instead of waiting for one of them to
    /// build it (with a write every fifth of a second, those waits were the slowest reads).
    func preparedAnswers(stamp: String, entries: () -> [(key: String, entry: PluginEntry)]) {
        guard let list = try? EncodedPluginList(entries(), reusing: encodedLists.anyValue()) else { return }
        encodedLists.insert(list, for: stamp)
        cache.insert(cache.kept(list.body), for: Self.listKey(stamp, PluginFilter()))
    }

    func update(_ context: RequestContext) throws -> HTTPResponse {
        let body = context.body
        if body.isEmpty { throw APIError.badRequest("Send at least one of 'enabled' and 'config'.") }
        var enabled: Bool?
        if let value = body["enabled"] {
            guard let flag = value.boolValue else { throw APIError.badRequest("enabled must be true or false, not \(value.kindName).") }
            enabled = flag
        }
        var config: JSONObject?
        if let value = body["config"] {
            guard let object = value.objectValue else { throw APIError.badRequest("config must be an object of KEY: value, not \(value.kindName).") }
            config = object
        }
        return try .json(encoding: service.update(context.parameter("id"), enabled: enabled, config: config))
    }

    func coreStatus(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: service.coreStatus())
    }

    func coreList(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: service.coreList())
    }

    func coreToggle(_ context: RequestContext) throws -> HTTPResponse {
        let nameValue = context.body["name"] ?? context.body["npmName"]
        guard let name = nameValue?.stringValue, !name.isEmpty else {
            throw APIError.badRequest("name is required: the short id or npm name of an optional-core plugin.")
        }
        guard let enabled = context.body["enabled"]?.boolValue else {
            throw APIError.badRequest("enabled is required and must be true or false.")
        }
        return try .json(encoding: service.coreToggle(name: name, enabled: enabled))
    }

    func test(_ context: RequestContext) throws -> HTTPResponse {
        try .json(encoding: service.test(context.parameter("id")))
    }
}
