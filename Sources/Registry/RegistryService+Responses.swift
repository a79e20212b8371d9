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
        let snapshot = try snapshot()
        let (positions, total) = try Self.page(of: snapshot.catalog, limit: limit, offset: offset, kind: kind)
        let catalog = snapshot.catalog
        let plugins = positions.map { position in
            let entry = catalog.entry(at: position)
            return RegistryPluginSummary(entry, id: catalog.id(at: position), status: status(entry.name))
        }
        return RegistryList(count: plugins.count, total: total, plugins: plugins, source: sourceReport(snapshot))
    }

    /// The same, encoded (the bytes `list` encodes to): each row is copied from the catalogue's encoded entries, then
    /// plugind's own members follow it, so no entry is decoded or encoded again.
    public func listBody(
        limit: Int? = nil, offset: Int = 0, kind: String? = nil, status: StatusLookup = { _ in .unknown }
    ) throws(RegistryError) -> [UInt8] {
        let snapshot = try snapshot()
        let catalog = snapshot.catalog
        let (positions, total) = try Self.page(of: catalog, limit: limit, offset: offset, kind: kind)
        var out: [UInt8] = []
        out.reserveCapacity(positions.reduce(512) { $0 + catalog.listRowCount($1) + 90 })
        JSONWriter.appendRaw("{\"count\":", to: &out)
        out.append(contentsOf: String(positions.count).utf8)
        JSONWriter.appendRaw(",\"total\":", to: &out)
        out.append(contentsOf: String(total).utf8)
        JSONWriter.appendRaw(",\"plugins\":[", to: &out)
        for (index, position) in positions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            catalog.appendListRow(position, to: &out)
            Self.appendStatusMembers(status(catalog.name(at: position)), to: &out)
        }
        JSONWriter.appendRaw("],\"source\":", to: &out)
        // Encoding throws only where a member's own `encode(to:)` does, and the report has none.
        out += try! JSONEncoding.bytes(sourceReport(snapshot))
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The entries a page of the list shows (positions in the catalogue) and how many match `kind` in all.
    static func page(of catalog: RegistryCatalog, limit: Int?, offset: Int, kind: String?) throws(RegistryError) -> (positions: [Int], total: Int) {
        guard limit.map({ $0 >= 1 }) ?? true else { throw .badQuery("limit must be at least 1.") }
        guard offset >= 0 else { throw .badQuery("offset must be at least 0.") }
        let wanted = kind.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        let matching = wanted.map { wanted in
            catalog.kindNames.firstIndex(of: wanted).map { kind in catalog.kinds.indices.filter { catalog.kinds[$0] == kind } } ?? []
        }
        let total = matching?.count ?? catalog.count
        let start = min(offset, total)
        let end = limit.map { min(total, start + min($0, total)) } ?? total
        return (matching.map { Array($0[start..<end]) } ?? Array(start..<end), total)
    }

    /// Plugind's own members of a row or details, then the closing brace: `"installed":…,"bundled":…}`. Most
    /// registry entries are not installed, and that status's bytes are written once rather than per row.
    static func appendStatusMembers(_ status: RegistryPluginStatus, to out: inout [UInt8]) {
        // Encoding throws only where a member's own `encode(to:)` does, and the status has none.
        let bytes = status == .unknown ? unknownStatusBytes : try! JSONEncoding.bytes(status)
        bytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0.dropFirst())) }
    }

    static let unknownStatusBytes = try! JSONEncoding.bytes(RegistryPluginStatus.unknown)

    // MARK: GET /api/registry/plugins/:name

    /// `{plugin}` with everything the registry knows, found by section 2's resolution over registry names.
    public func details(_ name: String, status: StatusLookup = { _ in .unknown }) throws(RegistryError) -> RegistryDetails {
        let snapshot = try snapshot()
        let entry = try Self.resolve(name, in: snapshot)
        let listed = RegistryListedPlugin(entry, id: snapshot.catalog.id(of: entry.name))
        return RegistryDetails(plugin: RegistryPluginDetails(listed: listed, status: status(entry.name)))
    }

    /// The same, encoded: the registry's part of each plugin's details is the catalogue's encoded entry, so an answer is
    /// a copy of it followed by plugind's own members (a plugin's page asks for it on every visit).
    public func detailsBody(_ name: String, status: StatusLookup = { _ in .unknown }) throws(RegistryError) -> [UInt8] {
        let catalog = try snapshot().catalog
        // Resolved to the entry's place, not decoded: the answer is a copy of its encoded details.
        let position = try Self.position(of: name, in: catalog)
        var body = Array("{\"plugin\":".utf8)
        body.reserveCapacity(catalog.searchResultHeadCount(position) + 120)
        catalog.appendDetails(position, to: &body)
        body.append(UInt8(ascii: ","))  // plugind's own members follow the registry's
        Self.appendStatusMembers(status(catalog.name(at: position)), to: &body)
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

    /// `entry(named:)`'s `version` and `compatible` alone (`RegistrySnapshot.latest(of:)`).
    public func latest(of name: String) throws(RegistryError) -> (version: String?, compatible: Bool?)? {
        try snapshot().latest(of: name)
    }

    /// Whether the registry lists exactly this npm name; nil when there is no snapshot to tell (the bundled catalogue
    /// tells only of the plugins it holds: the registry may list others).
    public func isListed(_ name: String) -> Bool? {
        guard let snapshot = try? snapshot() else { return nil }
        let listed = snapshot.catalog.position(named: name) != nil
        return listed || !snapshot.isBundled ? listed : nil
    }

    // MARK: GET /api/registry/search

    /// `{query, count, results}`, best first, encoded. `q` must have something to search for and at most 256
    /// characters. Each result's constant part is a copy of ranges of the catalogue's encoded entry.
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
            let status = status(catalog.name(at: hit.entry))
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

    // MARK: POST /api/registry/refresh

    /// `{ok: true, count, source}` after a forced fetch (a `304` counts); `fetchFailed` otherwise.
    public func refresh() throws(RegistryError) -> RegistryRefreshResult {
        let snapshot = try forceRefresh()
        return RegistryRefreshResult(count: snapshot.count, source: sourceReport(snapshot))
    }

    // MARK: Shapes

    /// `{url, format, fetchedAt, lastUpdatedAt, lastError, skipped, kind, errors}` of the snapshot served.
    func sourceReport(_ snapshot: RegistrySnapshot) -> RegistrySourceReport {
        let failure = state.withLock { $0.lastError }
        return RegistrySourceReport(
            url: snapshot.source.url, format: snapshot.format.rawValue, fetchedAt: ISOTime.string(from: snapshot.source.fetchedAt),
            lastUpdatedAt: snapshot.catalog.header.lastUpdatedAt, lastError: failure?.sentence, skipped: snapshot.skipped,
            kind: snapshot.isBundled ? "bundled" : "upstream", errors: failure?.details ?? [])
    }

    static func resolve(_ text: String, in snapshot: RegistrySnapshot) throws(RegistryError) -> RegistryEntry {
        snapshot.catalog.entry(at: try position(of: text, in: snapshot.catalog))
    }

    /// The place in `catalog` of the entry `text` names, by section 2's resolution.
    static func position(of text: String, in catalog: RegistryCatalog) throws(RegistryError) -> Int {
        switch catalog.resolve(text) {
        case .found(let name): return catalog.position(named: name)!
        case .ambiguous(let candidates): throw .ambiguous(text, candidates: candidates)
        case .notFound: throw .notFound(text)
        }
    }
}
