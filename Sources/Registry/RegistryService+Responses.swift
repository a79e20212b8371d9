import JSON
import Stores

/// The API's answers: list, details and refresh as wire values the route encodes, and search as encoded bytes (it
/// runs per keystroke and is assembled from pre-encoded parts).
extension RegistryService {
    public typealias StatusLookup = (String) -> RegistryPluginStatus

    /// Search results returned when `limit` is not given, and the most a query may ask for.
    public static let defaultSearchLimit = 15
    public static let maxSearchLimit = 50
    /// Longer queries are refused.
    public static let maxQueryLength = 256

    // MARK: Parameters as the routes receive them

    /// `q` of a search, as sent, once it is known to have something to search for and at most 256 characters.
    public static func searchQuery(_ text: String?) throws(RegistryError) -> String {
        let trimmed = (text ?? "").trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw .badQuery("q is required: the words to search the plugin registry for.") }
        guard trimmed.count <= Self.maxQueryLength else { throw .badQuery("q is longer than \(Self.maxQueryLength) characters.") }
        return text ?? ""
    }

    /// `limit` of a search: default 15, clamped to 1...50; not a whole number → `badQuery`.
    public static func searchLimit(_ text: String?) throws(RegistryError) -> Int {
        guard let text, !text.isEmpty else { return defaultSearchLimit }
        guard let value = Int(text) else { throw .badQuery("limit must be a whole number, not '\(text.prefix(50))'.") }
        return min(max(value, 1), maxSearchLimit)
    }

    /// `limit` and `offset` of the list: both optional whole numbers, `limit` at least 1, `offset` at least 0.
    public static func page(limit: String?, offset: String?) throws(RegistryError) -> (limit: Int?, offset: Int) {
        var page: (limit: Int?, offset: Int) = (nil, 0)
        if let limit, !limit.isEmpty {
            guard let value = Int(limit), value >= 1 else { throw .badQuery("limit must be a whole number of at least 1.") }
            page.limit = value
        }
        if let offset, !offset.isEmpty {
            guard let value = Int(offset), value >= 0 else { throw .badQuery("offset must be a whole number of at least 0.") }
            page.offset = value
        }
        return page
    }

    // MARK: GET /api/registry/plugins

    /// `{count, total, plugins, source}`: `total` counts the entries of `kind` (all when nil), `count` those returned.
    public func list(
        limit: Int? = nil, offset: Int = 0, kind: String? = nil, status: StatusLookup = { _ in .unknown }
    ) throws(RegistryError) -> RegistryList {
        guard limit.map({ $0 >= 1 }) ?? true else { throw .badQuery("limit must be at least 1.") }
        guard offset >= 0 else { throw .badQuery("offset must be at least 0.") }
        let snapshot = try snapshot()
        let wanted = kind.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        let matching = wanted.map { wanted in snapshot.entries.filter { $0.kind == wanted } } ?? snapshot.entries
        let start = min(offset, matching.count)
        let end = limit.map { min(matching.count, start + min($0, matching.count)) } ?? matching.count
        let ids = snapshot.catalog.ids
        let plugins = matching[start..<end].map { entry in
            RegistryPluginSummary(entry, id: ids[entry.name], status: status(entry.name))
        }
        return RegistryList(count: plugins.count, total: matching.count, plugins: plugins, source: sourceReport(snapshot))
    }

    // MARK: GET /api/registry/plugins/:name

    /// `{plugin}` with everything the registry knows, found by section 2's resolution over registry names.
    public func details(_ name: String, status: StatusLookup = { _ in .unknown }) throws(RegistryError) -> RegistryDetails {
        let snapshot = try snapshot()
        let entry = try Self.resolve(name, in: snapshot)
        let listed = RegistryListedPlugin(entry, id: snapshot.catalog.ids[entry.name])
        return RegistryDetails(plugin: RegistryPluginDetails(listed: listed, status: status(entry.name)))
    }

    /// The same, encoded: the registry's part of each plugin's details is encoded once per snapshot, on first request,
    /// so an answer is a copy of it followed by plugind's own members (a plugin's page asks for it on every visit).
    public func detailsBody(_ name: String, status: StatusLookup = { _ in .unknown }) throws(RegistryError) -> [UInt8] {
        let snapshot = try snapshot()
        let entry = try Self.resolve(name, in: snapshot)
        var body = snapshot.catalog.detailsHead(entry.name)
        // Encoding throws only where a member's own `encode(to:)` does, and the status has none.
        let own = try! JSONEncoding.bytes(status(entry.name))
        body.append(contentsOf: own.dropFirst())  // its members and the plugin's closing brace
        body.append(UInt8(ascii: "}"))
        return body
    }

    /// The entry `text` names, by section 2's resolution (id, npm name, `@elizaos/plugin-<x>`, …).
    public func resolve(_ text: String) throws(RegistryError) -> RegistryEntry {
        try Self.resolve(text, in: try snapshot())
    }

    /// The entry listed under exactly this npm name, nil when the registry does not list it; `noSnapshot` when
    /// there is no registry to ask.
    public func entry(named name: String) throws(RegistryError) -> RegistryEntry? {
        try snapshot().catalog.entry(name)
    }

    /// Whether the registry lists exactly this npm name; nil when there is no snapshot to tell (the bundled catalogue
    /// tells only of the plugins it holds: the registry may list others).
    public func isListed(_ name: String) -> Bool? {
        guard let snapshot = try? snapshot() else { return nil }
        let listed = snapshot.catalog.byName[name] != nil
        return listed || !snapshot.isBundled ? listed : nil
    }

    // MARK: GET /api/registry/search

    /// `{query, count, results}`, best first, encoded. `q` must have something to search for and at most 256
    /// characters. Each result's constant part was encoded with the snapshot, so an answer is mostly copies.
    public func search(_ query: String, limit: Int = defaultSearchLimit, status: StatusLookup = { _ in .unknown }) throws(RegistryError)
        -> [UInt8]
    {
        let trimmed = try Self.searchQuery(query).trimmingASCIIWhitespace()
        let limit = min(max(limit, 1), Self.maxSearchLimit)
        let catalog = try snapshot().catalog
        let hits = catalog.search.search(trimmed, limit: limit)
        let top = Double(hits.first?.score ?? 1)
        var out: [UInt8] = []
        out.reserveCapacity(64 + query.utf8.count + hits.reduce(0) { $0 + catalog.searchResultHeadCount($1.entry) + 80 })
        JSONWriter.appendRaw("{\"query\":", to: &out)
        JSONWriter.appendString(query, to: &out)
        JSONWriter.appendRaw(",\"count\":", to: &out)
        out.append(contentsOf: String(hits.count).utf8)
        JSONWriter.appendRaw(",\"results\":[", to: &out)
        for (position, hit) in hits.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            catalog.appendSearchResultHead(hit.entry, to: &out)
            // The name alone: `document.entries[i].name` would copy (and retain) the entry's dozen strings first.
            let status = status(catalog.names[hit.entry])
            func flag(_ value: Bool) { if value { JSONWriter.appendRaw("true", to: &out) } else { JSONWriter.appendRaw("false", to: &out) } }
            JSONWriter.appendRaw("\"installed\":", to: &out)
            flag(status.installed)
            JSONWriter.appendRaw(",\"loaded\":", to: &out)
            flag(status.loaded)
            JSONWriter.appendRaw(",\"bundled\":", to: &out)
            flag(status.bundled)
            JSONWriter.appendRaw(",\"score\":", to: &out)
            let thousandths = (Double(hit.score) / top * 1000).rounded()
            if thousandths >= 0, thousandths <= 1000 {
                out.append(contentsOf: Self.scoreLiterals[Int(thousandths)])
            } else {
                JSONWriter.append(.number(thousandths / 1000), to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        JSONWriter.appendRaw("]}", to: &out)
        return out
    }

    /// `score` as written for each number of thousandths it can be (the best hit scores 1, the others less): the
    /// same writer's bytes, formatted once rather than for every hit of every answer.
    static let scoreLiterals: [[UInt8]] = (0...1000).map { thousandths in
        var literal: [UInt8] = []
        JSONWriter.append(.number(Double(thousandths) / 1000), to: &literal)
        return literal
    }

    /// A search result's members that depend only on the snapshot, as `{"name":…,"repository":…,`.
    static func searchResultHead(_ entry: RegistryEntry, id: String?) -> [UInt8] {
        let head = RegistrySearchHead(
            name: entry.name, id: id, displayName: entry.displayName, description: entry.description, npmPackage: entry.npmPackage,
            version: entry.version, compatible: entry.compatible, compatibility: entry.compatibility, kind: entry.kind, tags: entry.tags, stars: entry.stars, repository: entry.repository)
        // Encoding throws only where a member's own `encode(to:)` does, and none of these has one.
        var bytes = try! JSONEncoding.bytes(head)
        bytes[bytes.count - 1] = UInt8(ascii: ",")  // the closing brace: the answer's members follow
        return bytes
    }

    // MARK: POST /api/registry/refresh

    /// `{ok: true, count, source}` after a forced fetch (a `304` counts); `fetchFailed` otherwise.
    public func refresh() throws(RegistryError) -> RegistryRefreshResult {
        let snapshot = try forceRefresh()
        return RegistryRefreshResult(count: snapshot.entries.count, source: sourceReport(snapshot))
    }

    // MARK: Shapes

    /// `{url, format, fetchedAt, lastUpdatedAt, lastError, skipped, kind, errors}` of the snapshot served.
    func sourceReport(_ snapshot: RegistrySnapshot) -> RegistrySourceReport {
        let failure = state.withLock { $0.lastError }
        return RegistrySourceReport(
            url: snapshot.source.url, format: snapshot.format.rawValue, fetchedAt: ISOTime.string(from: snapshot.source.fetchedAt),
            lastUpdatedAt: snapshot.document.lastUpdatedAt, lastError: failure?.sentence, skipped: snapshot.skipped,
            kind: snapshot.isBundled ? "bundled" : "upstream", errors: failure?.details ?? [])
    }

    static func resolve(_ text: String, in snapshot: RegistrySnapshot) throws(RegistryError) -> RegistryEntry {
        switch snapshot.catalog.resolve(text) {
        case .found(let name): return snapshot.catalog.entry(name)!
        case .ambiguous(let candidates): throw .ambiguous(text, candidates: candidates)
        case .notFound: throw .notFound(text)
        }
    }
}
