import Foundation
import JSON
import Locking
import Vocabulary

/// Where a snapshot came from and how to ask that upstream whether it changed.
public struct RegistrySource: Sendable, Equatable {
    /// The upstream URL that served the document.
    public var url: String
    /// When upstream last confirmed the content (a `200`, or a `304 Not Modified`).
    public var fetchedAt: Date
    public var etag: String?
    public var lastModified: String?

    public init(url: String, fetchedAt: Date, etag: String? = nil, lastModified: String? = nil) {
        self.url = url
        self.fetchedAt = fetchedAt
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// One parsed registry document with its look-up tables and search index, built once and then only read.
final class RegistryCatalog: Sendable {
    let document: RegistryDocument
    let byName: [String: Int]
    /// npm name → id (section 2: the short id unless shared, where the `@elizaos/` one keeps it).
    let ids: [String: String]
    let byId: [String: Int]
    let names: [String]
    /// Case-insensitive fallback: lowercased names, their ids, and the names each stands for.
    let foldedNames: [String]
    let foldedIds: [String: String]
    let unfold: [String: [String]]
    let search: RegistrySearchIndex
    /// Each entry's search result up to its per-answer fields, encoded once: `{"name":…,"repository":…,`, entry `i`'s
    /// at `searchResultHeadText[searchResultHeadStart[i]..<searchResultHeadStart[i + 1]]`. One buffer rather than an
    /// array per entry: an answer copies from it without retaining and releasing a shared array per hit (sixteen
    /// workers counting references on the same popular entries), and it is one allocation, not ten thousand.
    let searchResultHeadText: [UInt8]
    let searchResultHeadStart: [Int]
    /// Entries' details up to plugind's own members, encoded on first request: `{"plugin":{"name":…,"app":…,`.
    private let detailsHeads = Locked<[Int: [UInt8]]>([:])

    init(document: RegistryDocument) {
        self.document = document
        names = document.entries.map(\.name)
        var byName: [String: Int] = [:]
        for (position, name) in names.enumerated() { byName[name] = position }
        self.byName = byName
        let ids = PluginIdentity.assignIds(names)
        self.ids = ids
        var byId: [String: Int] = [:]
        for (name, id) in ids { byId[id] = byName[name] }
        self.byId = byId
        var unfold: [String: [String]] = [:]
        var foldedIds: [String: String] = [:]
        for name in names {
            let folded = name.lowercased()
            unfold[folded, default: []].append(name)
            foldedIds[folded] = ids[name]?.lowercased()
        }
        self.unfold = unfold
        self.foldedIds = foldedIds
        foldedNames = unfold.keys.sorted()
        search = RegistrySearchIndex(entries: document.entries, ids: ids)
        var headText: [UInt8] = []
        var headStart = [0]
        headStart.reserveCapacity(document.entries.count + 1)
        for entry in document.entries {
            headText += RegistryService.searchResultHead(entry, id: ids[entry.name])
            headStart.append(headText.count)
        }
        searchResultHeadText = headText
        searchResultHeadStart = headStart
    }

    /// Entry `position`'s search result head, appended to `out`.
    func appendSearchResultHead(_ position: Int, to out: inout [UInt8]) {
        let range = searchResultHeadStart[position]..<searchResultHeadStart[position + 1]
        searchResultHeadText.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Its length in bytes.
    func searchResultHeadCount(_ position: Int) -> Int { searchResultHeadStart[position + 1] - searchResultHeadStart[position] }

    /// Section 2's order over registry names, then the same ignoring case (legacy capitalised names).
    func resolve(_ text: String) -> PluginIdentity.Resolution {
        if let position = byId[text] ?? byName[text] { return .found(names[position]) }
        let exact = PluginIdentity.resolve(text, keys: names, ids: ids)
        guard exact == .notFound else { return exact }
        switch PluginIdentity.resolve(text.lowercased(), keys: foldedNames, ids: foldedIds) {
        case .found(let folded):
            let originals = unfold[folded] ?? []
            return originals.count == 1 ? .found(originals[0]) : .ambiguous(originals.sorted())
        case .ambiguous(let folded):
            return .ambiguous(folded.flatMap { unfold[$0] ?? [] }.sorted())
        case .notFound:
            return .notFound
        }
    }

    func entry(_ name: String) -> RegistryEntry? { byName[name].map { document.entries[$0] } }

    /// The details of the entry named `name` (which the catalogue lists) up to plugind's own members.
    func detailsHead(_ name: String) -> [UInt8] {
        let position = byName[name]!
        if let head = detailsHeads.withLock({ $0[position] }) { return head }
        let entry = document.entries[position]
        var head = Array("{\"plugin\":".utf8)
        // Encoding throws only where a member's own `encode(to:)` does, and these write plain values.
        head += try! JSONEncoding.bytes(RegistryListedPlugin(entry, id: ids[name]))
        head[head.count - 1] = UInt8(ascii: ",")  // the closing brace: plugind's members follow
        detailsHeads.withLock { $0[position] = head }
        return head
    }
}

/// What the registry service serves: a catalogue and where it came from. Immutable; a refresh makes a new one.
public final class RegistrySnapshot: Sendable {
    let catalog: RegistryCatalog
    public let source: RegistrySource
    /// Built from plugind's own catalogue, not fetched: served only while no upstream copy exists.
    public let isBundled: Bool

    init(catalog: RegistryCatalog, source: RegistrySource, isBundled: Bool = false) {
        self.catalog = catalog
        self.source = source
        self.isBundled = isBundled
    }

    public var entries: [RegistryEntry] { catalog.document.entries }
    public var format: RegistryDocument.Format { catalog.document.format }
    public var skipped: Int { catalog.document.skipped }
    public var document: RegistryDocument { catalog.document }

    /// The entry listed under exactly this npm name.
    public func entry(named name: String) -> RegistryEntry? { catalog.entry(name) }

    /// The entry's id (section 2): its short id, unless another entry shares it and the `@elizaos/` one keeps it.
    public func id(of name: String) -> String? { catalog.ids[name] }

    /// The same catalogue, confirmed again by upstream (a `304`).
    func confirmed(at date: Date, etag: String?, lastModified: String?) -> RegistrySnapshot {
        var source = self.source
        source.fetchedAt = date
        if let etag { source.etag = etag }
        if let lastModified { source.lastModified = lastModified }
        return RegistrySnapshot(catalog: catalog, source: source, isBundled: isBundled)
    }
}
