import Foundation
import JSON
import Locking
import Synchronization
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
///
/// The entries are held once, compactly: each entry's details form (`{"name":…,"topics":[…]}`, the bytes a plugin's
/// details answer carries) in one byte buffer, with the offset of each of its members. The list's rows and the
/// search results are the same members in another order, so every answer is assembled from ranges of that buffer,
/// and the rare reader of a whole `RegistryEntry` (install, eject, tests) gets one decoded from it. A buffer and an
/// offset table are two allocations for the whole catalogue, where entries as structs held a dozen strings, a
/// channel array and a tag array each (with the pre-encoded search results, the name tables and the cached list
/// answer beside them, a 10,000-entry registry's plugind was at 88 MiB resident; held this way, 59 MiB).
final class RegistryCatalog: Sendable {
    /// The document's own fields, without its entries (those are `text`).
    let header: RegistryDocument
    let count: Int
    /// Every entry's details form, less the members written from others (see `stored` and `derivedRepository`),
    /// one after the other.
    let text: [UInt8]
    /// `stride` offsets per entry: where each stored member's key begins, then just past the closing brace (so
    /// that a member ends one byte before the next offset, its comma or the brace), then where
    /// `,"v0Version":` begins inside `npm` (what precedes it is the package and the version, a search result's).
    let offsets: MemberOffsets
    /// Whether entry `i`'s `gitUrl` is left out of `text` (and written from `gitRepo` or `repository`).
    let derivedGitUrl: [Bool]
    /// Whether entry `i`'s `repository` is left out of `text` (and written as `repositoryPrefix` and `gitRepo`): the
    /// parser makes it the git base URL and `gitRepo` whenever there is a `gitRepo`. Only with `derivedGitUrl`.
    let derivedRepository: [Bool]
    let repositoryPrefix: [UInt8]
    /// Entries' `kind` as a place in `kindNames`, for the list's filter.
    let kinds: [UInt32]
    let kindNames: [String]
    /// Entries by npm name and by id: open-addressing tables of positions (plus one; zero is empty) whose keys are
    /// the names and ids inside `text`. Flat arrays rather than dictionaries of strings: see `init`.
    let nameSlots: [Int32]
    let idSlots: [Int32]
    /// The search index, built on first need from the encoded entries (see `search`).
    private let builtIndex = AtomicLazyReference<RegistrySearchIndex>()
    private let indexGate = Locked(())

    /// The details form's members, in the order `RegistryListedPlugin` writes them (every one, null or not).
    enum Member: Int, CaseIterable {
        case name, id, displayName, description, npm, channel, compatible, compatibility, coreRanges, versions, supports, author
        case repository, homepage, tags, stars, language, kind, origin, support, git, directory, app, gitRepo, gitUrl, topics
    }
    /// Members kept in `text`: all but `gitUrl` and `topics`, written from `gitRepo` (or `repository`) and `tags` in
    /// answers. An entry whose `gitUrl` is not what `gitRepo` gives (none should be) keeps it, as part of `gitRepo`.
    static let stored = Member.gitUrl.rawValue
    static let stride = stored + 2

    /// Everything the catalogue keeps is a few large arrays (and the search index's tables). The entries it is built
    /// from are thousands of small blocks, freed once it is built: anything small kept from them (a dictionary's
    /// string keys, an array per name) would sit between the freed blocks, and the allocator can give the system
    /// back only pages with nothing left on them (with per-name dictionaries, 10,000 entries kept about 28 MiB
    /// of freed blocks resident).
    init(document: RegistryDocument) {
        var header = document
        header.entries = []
        self.header = header
        let entries = document.entries
        count = entries.count
        let ids = PluginIdentity.assignIds(entries.map(\.name))
        var kindPlaces: [String: UInt32] = [:]
        kinds = entries.map { entry in
            if let known = kindPlaces[entry.kind] { return known }
            kindPlaces[entry.kind] = UInt32(kindPlaces.count)
            return UInt32(kindPlaces.count - 1)
        }
        kindNames = kindPlaces.sorted { $0.value < $1.value }.map(\.key)

        var text: [UInt8] = []
        // Room for the usual entry up front: growing a buffer this size by doubling would leave half of it idle.
        text.reserveCapacity(entries.count * 1_100)
        var offsets: [UInt32] = []
        offsets.reserveCapacity(entries.count * Self.stride)
        var derivedGitUrl: [Bool] = []
        derivedGitUrl.reserveCapacity(entries.count)
        var derivedRepository: [Bool] = []
        derivedRepository.reserveCapacity(entries.count)
        var repositoryPrefix: [UInt8]?
        for entry in entries {
            let base = text.count
            // Encoding throws only where a member's own `encode(to:)` does, and these write plain values.
            text += try! JSONEncoding.bytes(RegistryListedPlugin(entry, id: ids[entry.name]))
            let derived = Self.appendOffsets(of: &text, from: base, to: &offsets, repositoryPrefix: &repositoryPrefix)
            derivedGitUrl.append(derived.gitUrl)
            derivedRepository.append(derived.repository)
        }
        self.derivedGitUrl = derivedGitUrl
        self.derivedRepository = derivedRepository
        self.repositoryPrefix = repositoryPrefix ?? []
        // A copy sized to fit: growing by doubling leaves up to half the buffer's capacity unused.
        self.text = text.count < text.capacity / 8 * 7 ? text.withUnsafeBufferPointer(Array.init) : text
        let compact = MemberOffsets(offsets, stride: Self.stride)
        self.offsets = compact
        nameSlots = Self.slots(count: entries.count, text: text) { Self.nameRange(in: compact, $0) }
        idSlots = Self.slots(count: entries.count, text: text) { Self.idRange(in: text, compact, $0) }
    }

    /// The search index. Built from entries decoded again from `text`, once the document the catalogue was made
    /// from is gone (the refresh that made it calls `prepareSearch` after dropping it): built beside the document,
    /// the index's thousands of small blocks landed between the document's, and kept about 16 MiB of a
    /// 10,000-entry document's freed memory resident. A lock-free read once built.
    var search: RegistrySearchIndex {
        if let index = builtIndex.load() { return index }
        return indexGate.withLock { _ in
            if let index = builtIndex.load() { return index }
            let entries = self.entries
            var ids: [String: String] = [:]
            for (position, entry) in entries.enumerated() { ids[entry.name] = id(at: position) }
            return builtIndex.storeIfNil(RegistrySearchIndex(entries: entries, ids: ids))
        }
    }

    /// Builds the search index now (see `search`), so that no query waits for it.
    func prepareSearch() { _ = search }

    // MARK: Names and ids

    /// Where entry `position`'s npm name is in `text` (`"name":"<name>",`: names need no escaping).
    private static func nameRange(in offsets: MemberOffsets, _ position: Int) -> Range<Int> {
        let start = offsets[position, Member.name.rawValue] + #""name":""#.utf8.count
        return start..<(offsets[position, Member.id.rawValue] - 2)
    }

    /// Where its id is (`"id":"<id>",`), nil when it has none (`"id":null,`).
    private static func idRange(in text: [UInt8], _ offsets: MemberOffsets, _ position: Int) -> Range<Int>? {
        let start = offsets[position, Member.id.rawValue] + #""id":"#.utf8.count
        guard text[start] == UInt8(ascii: "\"") else { return nil }
        return (start + 1)..<(offsets[position, Member.displayName.rawValue] - 2)
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: hash)
    }

    /// An open-addressing table of `count` entries keyed by `key(position)`'s bytes (the first of equal keys kept).
    private static func slots(count: Int, text: [UInt8], key: (Int) -> Range<Int>?) -> [Int32] {
        var size = 16
        while size < count * 2 { size <<= 1 }
        var slots = [Int32](repeating: 0, count: size)
        text.withUnsafeBufferPointer { text in
            for position in 0..<count {
                guard let range = key(position) else { continue }
                let bytes = UnsafeBufferPointer(rebasing: text[range])
                var slot = hash(bytes) & (size - 1)
                while slots[slot] != 0 {
                    if let other = key(Int(slots[slot]) - 1), text[other].elementsEqual(bytes) { break }
                    slot = (slot + 1) & (size - 1)
                }
                if slots[slot] == 0 { slots[slot] = Int32(position + 1) }
            }
        }
        return slots
    }

    private func find(_ wanted: String, in slots: [Int32], key: (Int) -> Range<Int>?) -> Int? {
        var wanted = wanted
        return wanted.withUTF8 { wanted in
            text.withUnsafeBufferPointer { text in
                var slot = Self.hash(wanted) & (slots.count - 1)
                while slots[slot] != 0 {
                    let position = Int(slots[slot]) - 1
                    if let range = key(position), text[range].elementsEqual(wanted) { return position }
                    slot = (slot + 1) & (slots.count - 1)
                }
                return nil
            }
        }
    }

    /// The entry listed under exactly this npm name.
    func position(named name: String) -> Int? { find(name, in: nameSlots) { [offsets] in Self.nameRange(in: offsets, $0) } }

    /// The entry with exactly this id.
    func position(ofId id: String) -> Int? { find(id, in: idSlots) { [text, offsets] in Self.idRange(in: text, offsets, $0) } }

    /// Entry `position`'s npm name.
    func name(at position: Int) -> String { String(decoding: text[Self.nameRange(in: offsets, position)], as: UTF8.self) }

    /// Entry `position`'s id (section 2: the short id unless shared, where the `@elizaos/` one keeps it).
    func id(at position: Int) -> String? { Self.idRange(in: text, offsets, position).map { String(decoding: text[$0], as: UTF8.self) } }

    func id(of name: String) -> String? { position(named: name).flatMap(id(at:)) }

    /// Records where each top-level member of the object at `text[base...]` begins, where it closes, and where
    /// `npm`'s `,"v0Version":` begins; and drops its last members, `topics` and (when `gitRepo` or `repository` gives
    /// it, which it returns) `gitUrl`.
    private static func appendOffsets(
        of text: inout [UInt8], from base: Int, to offsets: inout [UInt32], repositoryPrefix: inout [UInt8]?
    ) -> (gitUrl: Bool, repository: Bool) {
        let first = offsets.count
        var depth = 0
        var inString = false
        var escaped = false
        for position in base..<text.count {
            let byte = text[position]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if depth == 1, text[position - 1] == UInt8(ascii: "{") || text[position - 1] == UInt8(ascii: ",") { offsets.append(UInt32(position)) }
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { offsets.append(UInt32(position + 1)) }
            default: break
            }
        }
        precondition(offsets.count - first == Member.allCases.count + 1, "a listed plugin writes every member")
        // `,"topics":[…]` goes; the brace moves up to where its comma was.
        let topics = Int(offsets[first + Member.topics.rawValue])
        text.removeSubrange((topics - 1)..<(text.count - 1))
        offsets.removeLast(2)
        // `,"gitUrl":…` goes too when it can be written again from the other members.
        let gitUrl = Int(offsets.removeLast())
        var derived: [UInt8] = Array(#""gitUrl":"#.utf8)
        appendGitUrlValue(text, gitRepo: Int(offsets[first + Member.gitRepo.rawValue]), end: gitUrl - 1,
            repository: Int(offsets[first + Member.repository.rawValue]), homepage: Int(offsets[first + Member.homepage.rawValue]), to: &derived)
        let derivable = text[gitUrl..<(text.count - 1)].elementsEqual(derived)
        if derivable { text.removeSubrange((gitUrl - 1)..<(text.count - 1)) }
        offsets.append(UInt32(text.count))
        // `"repository":"<base><gitRepo>",` goes when the base is the one every other such entry has.
        var repositoryDerived = false
        let gitRepoValue = Int(offsets[first + Member.gitRepo.rawValue]) + #""gitRepo":"#.utf8.count
        let member = Int(offsets[first + Member.repository.rawValue])
        let next = Int(offsets[first + Member.homepage.rawValue])
        // Read before `text` changes: a slice still alive then would copy the whole buffer.
        let prefix: [UInt8]? = text.withUnsafeBufferPointer { text in
            guard derivable, text[gitRepoValue] == UInt8(ascii: "\"") else { return nil }
            let repo = text[(gitRepoValue + 1)..<(text.count - 2)]
            let value = text[(member + #""repository":"#.utf8.count)..<(next - 1)]
            guard value.count > repo.count + 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\""),
                value.dropLast().suffix(repo.count).elementsEqual(repo)
            else { return nil }
            return Array(value.dropFirst().dropLast(repo.count + 1))
        }
        if let prefix {
            if repositoryPrefix == nil { repositoryPrefix = prefix }
            if prefix == repositoryPrefix {
                text.removeSubrange(member..<next)
                for slot in (first + Member.homepage.rawValue)..<offsets.count { offsets[slot] -= UInt32(next - member) }
                repositoryDerived = true
            }
        }
        let npm = Int(offsets[first + Member.npm.rawValue])
        let marker = Array(",\"v0Version\":".utf8)
        var at = npm
        while !text[at..<(at + marker.count)].elementsEqual(marker) { at += 1 }
        offsets.append(UInt32(at))
        return (derivable, repositoryDerived)
    }

    /// `"repository":"<base><gitRepo>"` of an entry with `derivedRepository`.
    private func appendRepository(_ position: Int, to out: inout [UInt8]) {
        JSONWriter.appendRaw("\"repository\":\"", to: &out)
        out += repositoryPrefix
        // `"gitRepo":"<owner/repo>"` is the last member kept, just before the brace.
        append(position, from: offset(position, Member.gitRepo.rawValue) + #""gitRepo":""#.utf8.count, to: offset(position, Self.stored) - 2, into: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// `gitUrl`'s value as `MiladyRegistryFields.gitUrl` gives it: `"https://github.com/<gitRepo>.git"` (a validated
    /// `owner/repo` needs no escaping), else the value of `repository`. `gitRepo` is where that member begins, `end`
    /// where it ends; `repository` and `homepage` where those begin.
    private static func appendGitUrlValue(_ text: [UInt8], gitRepo: Int, end: Int, repository: Int, homepage: Int, to out: inout [UInt8]) {
        let value = gitRepo + #""gitRepo":"#.utf8.count
        if text[value] == UInt8(ascii: "\"") {
            JSONWriter.appendRaw("\"https://github.com/", to: &out)
            out += text[(value + 1)..<(end - 1)]
            JSONWriter.appendRaw(".git\"", to: &out)
        } else {
            out += text[(repository + #""repository":"#.utf8.count)..<(homepage - 1)]
        }
    }

    @inline(__always) private func offset(_ position: Int, _ slot: Int) -> Int { offsets[position, slot] }

    /// Appends members `first...last` of entry `position` (as written, with the commas between them) to `out`.
    @inline(__always) func append(_ position: Int, _ first: Member, through last: Member, to out: inout [UInt8]) {
        append(position, from: offset(position, first.rawValue), to: offset(position, last.rawValue + 1) - 1, into: &out)
    }

    @inline(__always) private func append(_ position: Int, from start: Int, to end: Int, into out: inout [UInt8]) {
        text.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Entry `position`'s details form without its closing brace: `{"name":…,"topics":[…]`.
    func appendDetails(_ position: Int, to out: inout [UInt8]) {
        if derivedRepository[position] {
            append(position, from: offset(position, 0) - 1, to: offset(position, Member.repository.rawValue) - 1, into: &out)
            out.append(UInt8(ascii: ","))
            appendRepository(position, to: &out)
            out.append(UInt8(ascii: ","))
            append(position, from: offset(position, Member.homepage.rawValue), to: offset(position, Self.stored) - 1, into: &out)
        } else {
            append(position, from: offset(position, 0) - 1, to: offset(position, Self.stored) - 1, into: &out)
        }
        appendTopics(position, to: &out)
    }

    /// `,"gitUrl":` and its value, unless `text` holds it (with `gitRepo`); then `,"topics":` and the value of `tags`.
    private func appendTopics(_ position: Int, to out: inout [UInt8]) {
        if derivedGitUrl[position] {
            JSONWriter.appendRaw(",\"gitUrl\":", to: &out)
            Self.appendGitUrlValue(
                text, gitRepo: offset(position, Member.gitRepo.rawValue), end: offset(position, Self.stored) - 1,
                repository: offset(position, Member.repository.rawValue), homepage: offset(position, Member.homepage.rawValue), to: &out)
        }
        JSONWriter.appendRaw(",\"topics\":", to: &out)
        append(position, from: offset(position, Member.tags.rawValue) + #""tags":"#.utf8.count, to: offset(position, Member.stars.rawValue) - 1, into: &out)
    }

    /// Entry `position`'s list row without plugind's own members: `{"name":…,"git":{…},`, the members of
    /// `RegistryPluginSummary` before its status.
    func appendListRow(_ position: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        append(position, .name, through: .npm, to: &out)
        out.append(UInt8(ascii: ","))
        appendCompatibilityToStars(position, to: &out)
        if derivedRepository[position] {
            appendRepository(position, to: &out)
            out.append(UInt8(ascii: ","))
            append(position, .homepage, through: .homepage, to: &out)
        } else {
            append(position, .repository, through: .homepage, to: &out)
        }
        out.append(UInt8(ascii: ","))
        append(position, .language, through: .language, to: &out)
        out.append(UInt8(ascii: ","))
        append(position, .gitRepo, through: .gitRepo, to: &out)
        appendTopics(position, to: &out)
        out.append(UInt8(ascii: ","))
        append(position, .supports, through: .supports, to: &out)
        out.append(UInt8(ascii: ","))
        append(position, .git, through: .git, to: &out)
        out.append(UInt8(ascii: ","))
    }

    /// `"compatible":…,"compatibility":…,"kind":…,"tags":…,"stars":…,`: the run list rows and search results share.
    private func appendCompatibilityToStars(_ position: Int, to out: inout [UInt8]) {
        append(position, .compatible, through: .compatibility, to: &out)
        out.append(UInt8(ascii: ","))
        append(position, .kind, through: .kind, to: &out)
        out.append(UInt8(ascii: ","))
        append(position, .tags, through: .stars, to: &out)
        out.append(UInt8(ascii: ","))
    }

    /// The list row's length in bytes, near enough to reserve for.
    func listRowCount(_ position: Int) -> Int {
        // The whole details form less the members a row leaves out (each with its comma).
        var length = offset(position, Self.stored) - offset(position, 0) + 2
        length += offset(position, Member.stars.rawValue) - offset(position, Member.tags.rawValue) + 4
        // `gitUrl` and `repository`, when written from `gitRepo`.
        length += 2 * (offset(position, Self.stored) - offset(position, Member.gitRepo.rawValue)) + repositoryPrefix.count + 40
        for member in [Member.channel, .coreRanges, .versions, .author, .origin, .support, .directory, .app] {
            length -= offset(position, member.rawValue + 1) - offset(position, member.rawValue)
        }
        return length
    }

    /// Entry `position`'s search result up to its per-answer fields: `{"name":…,"repository":…,`.
    func appendSearchResultHead(_ position: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        append(position, .name, through: .description, to: &out)
        JSONWriter.appendRaw(",\"npmPackage\":", to: &out)
        // `"npm":{"package":P,"version":V,"v0Version":…`: P and V, with `,"version":` between them.
        let package = offset(position, Member.npm.rawValue) + "\"npm\":{\"package\":".utf8.count
        append(position, from: package, to: offset(position, Self.stored + 1), into: &out)
        out.append(UInt8(ascii: ","))
        appendCompatibilityToStars(position, to: &out)
        if derivedRepository[position] {
            appendRepository(position, to: &out)
        } else {
            append(position, .repository, through: .repository, to: &out)
        }
        out.append(UInt8(ascii: ","))
    }

    /// Its length in bytes, near enough to reserve for (a search answer's buffer).
    func searchResultHeadCount(_ position: Int) -> Int { offset(position, Self.stored) - offset(position, 0) }

    /// Section 2's order over registry names, then the same ignoring case (legacy capitalised names). An exact id or
    /// name is two table look-ups; anything else (a short form, another case) is rare and reads every name.
    func resolve(_ text: String) -> PluginIdentity.Resolution {
        if let position = position(ofId: text) ?? position(named: text) { return .found(name(at: position)) }
        let names = (0..<count).map(name(at:))
        var ids: [String: String] = [:]
        for (position, name) in names.enumerated() { ids[name] = id(at: position) }
        let exact = PluginIdentity.resolve(text, keys: names, ids: ids)
        guard exact == .notFound else { return exact }
        var unfold: [String: [String]] = [:]
        var foldedIds: [String: String] = [:]
        for name in names {
            let folded = name.lowercased()
            unfold[folded, default: []].append(name)
            foldedIds[folded] = ids[name]?.lowercased()
        }
        switch PluginIdentity.resolve(text.lowercased(), keys: unfold.keys.sorted(), ids: foldedIds) {
        case .found(let folded):
            let originals = unfold[folded] ?? []
            return originals.count == 1 ? .found(originals[0]) : .ambiguous(originals.sorted())
        case .ambiguous(let folded):
            return .ambiguous(folded.flatMap { unfold[$0] ?? [] }.sorted())
        case .notFound:
            return .notFound
        }
    }

    func entry(_ name: String) -> RegistryEntry? { position(named: name).map(entry(at:)) }

    /// Members `first...last` of entry `position` alone, parsed: what a caller needs of one entry without decoding
    /// the whole of it.
    func members(_ position: Int, _ first: Member, through last: Member) -> JSONObject {
        var bytes = [UInt8(ascii: "{")]
        append(position, first, through: last, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        // The catalogue wrote these bytes as one object's members: they parse.
        return (try? JSONParser.parse(bytes, maxDepth: 64))?.objectValue ?? JSONObject()
    }

    /// Every entry, decoded (tests and rare readers: an answer never needs them).
    var entries: [RegistryEntry] { (0..<count).map(entry(at:)) }

    /// Entry `position`, decoded from its details form.
    func entry(at position: Int) -> RegistryEntry {
        var bytes: [UInt8] = []
        appendDetails(position, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        // The bytes are this catalogue's own encoding of a listed plugin: they always read back.
        return RegistryEntry(listed: try! JSONParser.parse(bytes).objectValue!)
    }
}

/// `RegistryCatalog.stride` offsets per entry into the catalogue's text. Most entries are well under 64 KiB, so each
/// is kept as a 16-bit distance from its entry's opening brace (half the memory of absolute positions); a catalogue
/// with a longer entry keeps them all as 32-bit positions.
struct MemberOffsets: Sendable {
    private let stride: Int
    /// Where each entry's object begins, when `narrow` is used.
    private let bases: [UInt32]
    private let narrow: [UInt16]
    /// Absolute positions, when some entry is too long for `narrow`.
    private let wide: [UInt32]

    init(_ absolute: [UInt32], stride: Int) {
        self.stride = stride
        let count = absolute.count / stride
        // An entry's first member begins one byte after its brace; its slots all lie within the entry.
        let bases = (0..<count).map { absolute[$0 * stride] - 1 }
        let fits = (0..<count).allSatisfy { position in
            (0..<stride).allSatisfy { absolute[position * stride + $0] - bases[position] <= UInt32(UInt16.max) }
        }
        if fits {
            self.bases = bases
            narrow = absolute.indices.map { UInt16(absolute[$0] - bases[$0 / stride]) }
            wide = []
        } else {
            self.bases = []
            narrow = []
            wide = absolute
        }
    }

    @inline(__always) subscript(position: Int, slot: Int) -> Int {
        if wide.isEmpty { return Int(bases[position]) &+ Int(narrow[position &* stride &+ slot]) }
        return Int(wide[position &* stride &+ slot])
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

    /// Every entry, decoded from the catalogue's compact form: for tests and rare readers, never an answer.
    public var entries: [RegistryEntry] { catalog.entries }
    /// How many entries the catalogue holds.
    public var count: Int { catalog.count }
    public var format: RegistryDocument.Format { catalog.header.format }
    public var skipped: Int { catalog.header.skipped }
    /// The document as read, its entries decoded (see `entries`).
    public var document: RegistryDocument {
        var document = catalog.header
        document.entries = catalog.entries
        return document
    }

    /// The entry listed under exactly this npm name.
    public func entry(named name: String) -> RegistryEntry? { catalog.entry(name) }

    /// The entry's `version` (of the channel in use) and `compatible`, as `entry(named:)` has them, without decoding
    /// the rest: the installed list asks for every installed plugin on each request. Nil when it is not listed.
    public func latest(of name: String) -> (version: String?, compatible: Bool?)? {
        guard let position = catalog.position(named: name) else { return nil }
        let npm = catalog.members(position, .npm, through: .npm)
        let compatible = catalog.members(position, .compatible, through: .compatible)
        return (npm["npm"]?["version"]?.stringValue, compatible["compatible"]?.boolValue)
    }

    /// The entry's id (section 2): its short id, unless another entry shares it and the `@elizaos/` one keeps it.
    public func id(of name: String) -> String? { catalog.id(of: name) }

    /// The same catalogue, confirmed again by upstream (a `304`).
    func confirmed(at date: Date, etag: String?, lastModified: String?) -> RegistrySnapshot {
        var source = self.source
        source.fetchedAt = date
        if let etag { source.etag = etag }
        if let lastModified { source.lastModified = lastModified }
        return RegistrySnapshot(catalog: catalog, source: source, isBundled: isBundled)
    }
}
