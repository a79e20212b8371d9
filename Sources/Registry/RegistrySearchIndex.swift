import Glibc
import Locking
import Vocabulary

/// An inverted index over one snapshot, built once, so a query costs a few dictionary look-ups and
/// scans of the vocabulary rather than a pass over every entry's text.
///
/// Ranking, per query word: a match in the name (or app display name) outweighs any match in topics,
/// description or owner; exact beats prefix beats substring beats a one-edit typo. Words add up, an
/// entry matching every word gets a bonus, and the whole query equal to the npm name, id, short id or
/// display name puts the entry first. Stars break ties.
///
/// A class: it is immutable, and a query (and the ranking inside it) then holds one reference
/// instead of copying a dozen array references.
final class RegistrySearchIndex: Sendable {
    struct Hit: Sendable, Equatable {
        var entry: Int
        var score: Int
    }

    /// Where a token was seen in an entry (bit set).
    enum Field {
        static let name: UInt8 = 1
        static let topic: UInt8 = 2
        static let description: UInt8 = 4
        static let owner: UInt8 = 8
    }

    /// How a query word met a token.
    enum Match: Int {
        case exact = 0, prefix, substring, typo
    }

    // Weights by match kind: name matches always outrank the best topic/description/owner match.
    static let nameWeight: [Int32] = [60, 45, 38, 34]
    static let topicWeight: [Int32] = [14, 10, 0, 7]
    static let descriptionWeight: [Int32] = [10, 7, 0, 4]
    static let ownerWeight: [Int32] = [12, 6, 0, 0]
    static let everyWordBonus: Int32 = 30
    /// A whole-query name match reached through a typo ranks below any exact one.
    static let typoKeyPenalty: Int32 = 500
    static let minPrefixLength = 3
    static let minSubstringLength = 4
    static let minTypoLength = 4
    static let maxQueryWords = 8

    /// Query words ignored when the query has other words.
    static let stopWords: Set<[UInt8]> = Set(
        [
            "a", "an", "the", "and", "or", "for", "with", "to", "of", "in", "on", "by", "from", "via", "into", "your", "is", "it",
            "as", "at", "be", "that", "this", "plugin", "plugins", "eliza", "elizaos",
        ].map { Array($0.utf8) })

    let count: Int
    /// Each entry's place when equal scores are ordered: more stars first, then by lowercased name.
    let tieRank: [Int32]
    /// Sorted tokens; a token's id is its position.
    let vocabulary: [[UInt8]]
    let tokenIds: [[UInt8]: Int32]
    /// Postings of token `t` are `postingEntries[postingStart[t]..<postingStart[t + 1]]` (and their fields).
    let postingStart: [Int32]
    let postingEntries: [Int32]
    let postingFields: [UInt8]
    /// Ids of tokens seen in some name, for substring matches, and their text: one byte string, each token
    /// followed by a NUL (no token contains one), `nameTokenStarts[i]` where token `nameTokens[i]` begins.
    let nameTokens: [Int32]
    let nameTokenText: [UInt8]
    let nameTokenStarts: [Int32]
    /// Ids of tokens with letters, for typo matches, by byte length and first byte (`length << 8 | byte`)
    /// and by byte length and last byte: one edit of a word of three letters or more leaves its first
    /// or its last letter in place, so only these two buckets can hold a word's typos.
    let typoByFirst: [[Int32]]
    let typoByLast: [[Int32]]
    /// Whole-query keys (npm name, id, short id, display name; lowercased) → entries and their bonus.
    let exactKeys: [String: [(entry: Int32, bonus: Int32)]]
    /// Per-entry score arrays, reused across queries instead of allocated and zeroed for each.
    private let scratchPool = Locked<[Scratch]>([])

    /// One entry's working state during a query. Together in 16 bytes, so a posting costs one cache
    /// line: five separate arrays meant five misses per entry on a 10,000-entry registry.
    struct Slot {
        /// The query's score so far.
        var total: Int32 = 0
        /// The current word's best name match and best other match.
        var nameBest: Int32 = 0
        var otherBest: Int32 = 0
        var wordsMatched: UInt8 = 0
        /// In `Ranking.touched`.
        var seen = false
    }

    /// One query's per-entry working state, zero between queries: a query resets only what it touched.
    /// Plain memory rather than an array, so the ranking loops run without bounds, uniqueness or
    /// exclusivity checks on every posting.
    final class Scratch {
        let slots: UnsafeMutablePointer<Slot>
        private let count: Int

        init(count: Int) {
            self.count = count
            slots = .allocate(capacity: count)
            slots.initialize(repeating: Slot(), count: count)
        }

        deinit {
            slots.deinitialize(count: count)
            slots.deallocate()
        }
    }

    init(entries: [RegistryEntry], ids: [String: String]) {
        count = entries.count
        let lowercasedNames = entries.map { $0.name.lowercased() }
        var tieRank = [Int32](repeating: 0, count: entries.count)
        let tieOrder = entries.indices.sorted { a, b in
            entries[a].stars != entries[b].stars ? entries[a].stars > entries[b].stars : lowercasedNames[a] < lowercasedNames[b]
        }
        for (place, entry) in tieOrder.enumerated() { tieRank[entry] = Int32(place) }
        self.tieRank = tieRank
        var postings: [[UInt8]: [(Int32, UInt8)]] = [:]
        var exact: [String: [(entry: Int32, bonus: Int32)]] = [:]
        for (position, entry) in entries.enumerated() {
            let index = Int32(position)
            var fields: [[UInt8]: UInt8] = [:]
            func add(_ text: String, _ field: UInt8) {
                for token in Self.tokens(text, splitCamelCase: true) where !token.isEmpty {
                    fields[token, default: 0] |= field
                }
            }
            let short = Self.unscoped(entry.name)
            add(short, Field.name)
            if entry.app != nil || entry.displayName != RegistryEntry.words(of: entry.name) { add(entry.displayName, Field.name) }
            for tag in entry.tags { add(tag, Field.topic) }
            add(entry.description, Field.description)
            if let scope = RegistryDocumentParser.scope(of: entry.name) { add(scope, Field.owner) }
            if let owner = entry.gitRepo.map(RegistryDocumentParser.owner(of:)) { add(owner, Field.owner) }
            if let author = entry.author { add(author, Field.owner) }
            for (token, mask) in fields { postings[token, default: []].append((index, mask)) }

            func key(_ text: String, _ bonus: Int32) {
                let lowered = text.lowercased()
                var holders = exact[lowered, default: []]
                if let i = holders.firstIndex(where: { $0.entry == index }) {
                    holders[i].bonus = max(holders[i].bonus, bonus)
                } else {
                    holders.append((index, bonus))
                }
                exact[lowered] = holders
            }
            key(entry.name, 1000)
            if let id = ids[entry.name] { key(id, 950) }
            key(PluginIdentity.shortId(entry.name), 900)
            key(short, 880)
            key(entry.displayName, 850)
            if entry.npmPackage != entry.name { key(entry.npmPackage, 1000) }
        }
        exactKeys = exact

        let sorted = postings.keys.sorted { $0.lexicographicallyPrecedes($1) }
        vocabulary = sorted
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(sorted.count)
        var start: [Int32] = [0]
        var postingEntries: [Int32] = []
        var postingFields: [UInt8] = []
        var nameTokens: [Int32] = []
        var byFirst: [[Int32]] = []
        var byLast: [[Int32]] = []
        for (position, token) in sorted.enumerated() {
            let id = Int32(position)
            ids[token] = id
            var union: UInt8 = 0
            for (entry, mask) in postings[token]! {
                postingEntries.append(entry)
                postingFields.append(mask)
                union |= mask
            }
            start.append(Int32(postingEntries.count))
            // Numbers only ever match exactly: a version or an index in a name is no word to search inside.
            let hasLetter = token.contains { !($0 >= 0x30 && $0 <= 0x39) }
            if union & Field.name != 0, hasLetter, token.count > Self.minSubstringLength { nameTokens.append(id) }
            if token.count >= Self.minTypoLength - 1, hasLetter {
                let first = token.count << 8 | Int(token[0])
                let last = token.count << 8 | Int(token[token.count - 1])
                while byFirst.count <= max(first, last) {
                    byFirst.append([])
                    byLast.append([])
                }
                byFirst[first].append(id)
                byLast[last].append(id)
            }
        }
        tokenIds = ids
        postingStart = start
        self.postingEntries = postingEntries
        self.postingFields = postingFields
        self.nameTokens = nameTokens
        var text: [UInt8] = []
        var starts: [Int32] = []
        for id in nameTokens {
            starts.append(Int32(text.count))
            text += sorted[Int(id)]
            text.append(0)
        }
        nameTokenText = text
        nameTokenStarts = starts
        typoByFirst = byFirst
        typoByLast = byLast
    }

    // MARK: Querying

    /// The best `limit` entries for `query`, best first.
    func search(_ query: String, limit: Int) -> [Hit] {
        guard count > 0, limit > 0 else { return [] }
        let lowered = query.lowercased()
        var words: [[UInt8]] = []
        for token in Self.tokens(lowered, splitCamelCase: false) where !words.contains(token) { words.append(token) }
        let meaningful = words.filter { !Self.stopWords.contains($0) }
        if !meaningful.isEmpty { words = meaningful }
        if words.count > Self.maxQueryWords { words.removeLast(words.count - Self.maxQueryWords) }

        let scratch = scratchPool.withLock { $0.popLast() } ?? Scratch(count: count)
        defer { scratchPool.withLock { $0.append(scratch) } }
        var ranking = Ranking(index: self, scratch: scratch)
        return ranking.run(words: words, lowered: lowered, limit: limit)
    }

    /// One query's ranking over the index, accumulating into the scratch memory.
    private struct Ranking {
        let index: RegistrySearchIndex
        let scratch: Scratch
        /// Entries with a non-zero total, in the order they were first scored.
        var touched: [Int32] = []
        /// Entries the current word scored.
        var wordTouched: [Int32] = []
        /// One-word queries a typo away from a whole name: entries and their reduced bonus.
        var typoKeys: [(entry: Int32, bonus: Int32)] = []

        init(index: RegistrySearchIndex, scratch: Scratch) {
            self.index = index
            self.scratch = scratch
        }

        mutating func run(words: [[UInt8]], lowered: String, limit: Int) -> [Hit] {
            defer {
                // Only what this query touched is non-zero (the per-word bests are cleared after each word).
                let slots = scratch.slots
                for entry in touched { slots[Int(entry)] = Slot() }
            }
            // The whole query naming an entry, as typed or with its words joined by '-' (`google chat`).
            let collapsed = lowered.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            var keys = [collapsed]
            if words.count > 1 { keys.append(words.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "-")) }
            for key in keys {
                for (entry, bonus) in index.exactKeys[key] ?? [] { award(entry, atLeast: bonus) }
            }
            for word in words { score(word, alone: words.count == 1) }
            for (entry, bonus) in typoKeys { award(entry, atLeast: bonus) }
            if words.count > 1 {
                let slots = scratch.slots
                for entry in touched where Int(slots[Int(entry)].wordsMatched) == words.count {
                    slots[Int(entry)].total += RegistrySearchIndex.everyWordBonus
                }
            }
            return best(limit)
        }

        mutating func award(_ entry: Int32, atLeast bonus: Int32) {
            let slot = scratch.slots + Int(entry)
            if !slot.pointee.seen {
                slot.pointee.seen = true
                touched.append(entry)
            }
            slot.pointee.total = max(slot.pointee.total, bonus)
        }

        /// Adds one query word's best match per entry: exact, prefix, substring (inside a name) or typo.
        mutating func score(_ word: [UInt8], alone: Bool) {
            let exactId = index.tokenIds[word]
            if let exactId { apply(exactId, .exact) }
            if word.count >= RegistrySearchIndex.minPrefixLength {
                // Tokens starting with the word sit together in the sorted vocabulary.
                let vocabulary = index.vocabulary
                var low = 0
                var high = vocabulary.count
                while low < high {
                    let mid = (low + high) / 2
                    if vocabulary[mid].lexicographicallyPrecedes(word) { low = mid + 1 } else { high = mid }
                }
                var id = low
                while id < vocabulary.count, vocabulary[id].starts(with: word) {
                    if Int32(id) != exactId { apply(Int32(id), .prefix) }
                    id += 1
                }
            }
            if word.count >= RegistrySearchIndex.minSubstringLength {
                // Inside a name token but not at its start (that was a prefix match), once per token.
                let starts = index.nameTokenStarts
                let text = index.nameTokenText
                RegistrySearchIndex.forEachOccurrence(of: word, in: text) { offset in
                    var low = 0
                    var high = starts.count
                    while low + 1 < high {
                        let mid = (low + high) / 2
                        if Int(starts[mid]) <= offset { low = mid } else { high = mid }
                    }
                    if Int(starts[low]) < offset { apply(index.nameTokens[low], .substring) }
                    return low + 1 < starts.count ? Int(starts[low + 1]) : text.count
                }
            }
            if exactId == nil, word.count >= RegistrySearchIndex.minTypoLength {
                for length in (word.count - 1)...(word.count + 1) {
                    typos(of: word, among: index.typoByFirst, key: length << 8 | Int(word[0]), alone: alone)
                    // Tokens with both ends in place were met in the first bucket already.
                    typos(of: word, among: index.typoByLast, key: length << 8 | Int(word[word.count - 1]), alone: alone, skipFirst: word[0])
                }
            }
            let slots = scratch.slots
            for entry in wordTouched {
                award(entry, atLeast: 0)
                let slot = slots + Int(entry)
                slot.pointee.total += slot.pointee.nameBest + slot.pointee.otherBest
                slot.pointee.wordsMatched += 1
                slot.pointee.nameBest = 0
                slot.pointee.otherBest = 0
            }
            wordTouched.removeAll(keepingCapacity: true)
        }

        /// Scores the tokens of one typo bucket that are one edit away from `word` (but for those
        /// starting with `skipFirst`).
        mutating func typos(of word: [UInt8], among buckets: [[Int32]], key: Int, alone: Bool, skipFirst: UInt8? = nil) {
            guard key < buckets.count else { return }
            for id in buckets[key] {
                let token = index.vocabulary[Int(id)]
                if let skipFirst, token[0] == skipFirst { continue }
                guard RegistrySearchIndex.withinOneEdit(token, word) else { continue }
                apply(id, .typo)
                // A one-word query one typo away from a name still puts that plugin first (`twiter`).
                if alone {
                    for (entry, bonus) in index.exactKeys[String(decoding: token, as: UTF8.self)] ?? [] {
                        typoKeys.append((entry, bonus - RegistrySearchIndex.typoKeyPenalty))
                    }
                }
            }
        }

        /// Every entry the token appears in gets the token's weight for its fields and match kind, if better
        /// than what the current word already gave it.
        mutating func apply(_ token: Int32, _ match: Match) {
            let kind = match.rawValue
            let (nameWeight, topicWeight) = (RegistrySearchIndex.nameWeight[kind], RegistrySearchIndex.topicWeight[kind])
            let (descriptionWeight, ownerWeight) = (RegistrySearchIndex.descriptionWeight[kind], RegistrySearchIndex.ownerWeight[kind])
            let slots = scratch.slots
            let range = Int(index.postingStart[Int(token)])..<Int(index.postingStart[Int(token) + 1])
            index.postingEntries.withUnsafeBufferPointer { entries in
                index.postingFields.withUnsafeBufferPointer { fieldsOf in
                    for p in range {
                        let entry = Int(entries[p])
                        let fields = fieldsOf[p]
                        var name: Int32 = 0
                        var other: Int32 = 0
                        if fields & Field.name != 0 { name = nameWeight }
                        if fields & Field.topic != 0 { other = max(other, topicWeight) }
                        if fields & Field.description != 0 { other = max(other, descriptionWeight) }
                        if fields & Field.owner != 0 { other = max(other, ownerWeight) }
                        if name == 0 && other == 0 { continue }
                        let slot = slots + entry
                        if slot.pointee.nameBest == 0 && slot.pointee.otherBest == 0 { wordTouched.append(Int32(entry)) }
                        if name > slot.pointee.nameBest { slot.pointee.nameBest = name }
                        if other > slot.pointee.otherBest { slot.pointee.otherBest = other }
                    }
                }
            }
        }

        /// The best `limit` touched entries in order: score, then stars, then name.
        func best(_ limit: Int) -> [Hit] {
            let slots = scratch.slots
            // Score, then the precomputed tie order, as one key: higher is better.
            func key(_ e: Int) -> Int64 { Int64(slots[e].total) << 32 | Int64(UInt32(bitPattern: ~index.tieRank[e])) }
            var best: [(entry: Int, key: Int64)] = []
            best.reserveCapacity(limit + 1)
            for entry in touched {
                let e = Int(entry)
                guard slots[e].total > 0 else { continue }
                let k = key(e)
                if best.count == limit, k <= best[limit - 1].key { continue }
                var low = 0
                var high = best.count
                while low < high {
                    let mid = (low + high) / 2
                    if best[mid].key > k { low = mid + 1 } else { high = mid }
                }
                best.insert((e, k), at: low)
                if best.count > limit { best.removeLast() }
            }
            return best.map { Hit(entry: $0.entry, score: Int(slots[$0.entry].total)) }
        }
    }

    // MARK: Text

    /// Lowercased words: runs of ASCII letters and digits or non-ASCII characters. With `splitCamelCase`,
    /// `lensNetwork` also yields `lens` and `network`.
    static func tokens(_ text: String, splitCamelCase: Bool) -> [[UInt8]] {
        var result: [[UInt8]] = []
        let bytes = Array(text.utf8)
        var start = 0
        func isWordByte(_ b: UInt8) -> Bool { b.isASCIIAlphanumeric || b >= 0x80 }
        while start < bytes.count {
            while start < bytes.count, !isWordByte(bytes[start]) { start += 1 }
            var end = start
            while end < bytes.count, isWordByte(bytes[end]) { end += 1 }
            guard end > start else { break }
            let word = bytes[start..<end]
            if word.allSatisfy({ $0 < 0x80 }) {
                result.append(word.map(lowercase))
                if splitCamelCase {
                    var partStart = start
                    var parts: [[UInt8]] = []
                    for i in (start + 1)..<max(end, start + 1) where isLower(bytes[i - 1]) && isUpper(bytes[i]) {
                        parts.append(bytes[partStart..<i].map(lowercase))
                        partStart = i
                    }
                    if !parts.isEmpty {
                        parts.append(bytes[partStart..<end].map(lowercase))
                        result.append(contentsOf: parts)
                    }
                }
            } else {
                result.append(Array(String(decoding: word, as: UTF8.self).lowercased().utf8))
            }
            start = end
        }
        return result
    }

    private static func lowercase(_ b: UInt8) -> UInt8 { isUpper(b) ? b + 32 : b }
    private static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    private static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }

    /// The name without its `@scope/`.
    static func unscoped(_ name: String) -> String {
        guard name.hasPrefix("@"), let slash = name.firstIndex(of: "/") else { return name }
        return String(name[name.index(after: slash)...])
    }

    /// Calls `found` with the offset of each occurrence of `needle` in `haystack`, left to right;
    /// `found` answers where to look next.
    static func forEachOccurrence(of needle: [UInt8], in haystack: [UInt8], _ found: (Int) -> Int) {
        guard let first = needle.first, needle.count <= haystack.count else { return }
        haystack.withUnsafeBufferPointer { text in
            needle.withUnsafeBufferPointer { pattern in
                let base = text.baseAddress!
                var position = 0
                let last = text.count - pattern.count
                while position <= last {
                    guard let hit = memchr(base + position, Int32(first), last - position + 1) else { return }
                    let offset = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + offset, pattern.baseAddress!, pattern.count) == 0 {
                        position = max(found(offset), offset + 1)
                    } else {
                        position = offset + 1
                    }
                }
            }
        }
    }

    /// Whether one insertion, deletion, substitution or swap of neighbours turns `a` into `b`.
    static func withinOneEdit(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let (m, n) = (a.count, b.count)
        guard abs(m - n) <= 1 else { return false }
        // One edit of a word of three letters or more leaves its first or its last letter in place.
        if m >= 3, n >= 3, a[0] != b[0], a[m - 1] != b[n - 1] { return false }
        return a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                var i = 0
                while i < m, i < n, a[i] == b[i] { i += 1 }
                if i == m && i == n { return true }
                func same(_ x: Int, _ y: Int) -> Bool {
                    // a[x...] == b[y...], lengths already known to match
                    var (x, y) = (x, y)
                    while x < m { if a[x] != b[y] { return false }; x += 1; y += 1 }
                    return true
                }
                if m == n {
                    if same(i + 1, i + 1) { return true }
                    return i + 1 < m && a[i] == b[i + 1] && a[i + 1] == b[i] && same(i + 2, i + 2)
                }
                if m == n + 1 { return same(i + 1, i) }
                return same(i, i + 1)
            }
        }
    }
}
