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
    /// The weights of `apply`, by match kind and field set (`kind * 16 + fields`): the name weight if the
    /// fields hold the name, times 256, plus the best of the other fields' weights.
    static let fieldWeights: [UInt16] = (0..<64).map { slot in
        let (kind, fields) = (slot / 16, UInt8(slot % 16))
        var other: Int32 = 0
        if fields & Field.topic != 0 { other = max(other, topicWeight[kind]) }
        if fields & Field.description != 0 { other = max(other, descriptionWeight[kind]) }
        if fields & Field.owner != 0 { other = max(other, ownerWeight[kind]) }
        let name = fields & Field.name != 0 ? nameWeight[kind] : 0
        return UInt16(name) << 8 | UInt16(other)
    }
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
    /// The entry at each place of the order equal scores take (more stars first, then by lowercased name).
    /// Inside the index an entry is known by its place: the postings, the key holders and the scratch slots
    /// all use it, so ordering two hits of equal score compares the numbers themselves, and `best` reads no
    /// second array for each entry a query touched. `search` answers with the entries' own positions.
    let entryAtPlace: [Int32]
    /// Sorted tokens, a token's id its position, as one byte string: token `t` is
    /// `tokenText[tokenStart[t]..<tokenStart[t + 1]]`. One buffer rather than an array per token: a query's
    /// binary search and typo scan read it without a reference count per token, and it holds no per-token
    /// allocation (nor a dictionary of the same tokens: an exact match is the binary search's hit).
    let tokenText: [UInt8]
    let tokenStart: [Int32]
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
    /// Whole-query keys (npm name, id, short id, display name; lowercased, UTF-8), sorted, as one byte string:
    /// key `k` is `keyText[keyStart[k]..<keyStart[k + 1]]`, and its holders (entries and their bonus) are
    /// `keyHolderEntries[keyHolderStart[k]..<keyHolderStart[k + 1]]` (and `keyHolderBonuses`). Five buffers
    /// instead of a dictionary of 60,000 strings each with an array: no allocation per key or per holder list.
    let keyText: [UInt8]
    let keyStart: [Int32]
    let keyHolderStart: [Int32]
    let keyHolderEntries: [Int32]
    let keyHolderBonuses: [Int32]
    /// One bit per hash of the keys (`keyFilterBits` bits, 64 KB): most queries are no entry's key, and a
    /// clear bit says so without the binary search's dozen and a half cache misses over 60,000 keys.
    let keyFilter: [UInt64]
    static let keyFilterBits = 1 << 19
    /// Per-entry score arrays, reused across queries instead of allocated and zeroed for each.
    private let scratchPool = Locked<[Scratch]>([])

    /// One entry's working state during a query, in 8 bytes: a posting costs one load of one cache line, and
    /// 10,000 entries' slots fit in 80 KB.
    struct Slot {
        /// The query's score so far; non-zero once the entry is in `Ranking.touched` (every award is positive).
        var total: Int32 = 0
        /// The best name match and best other match of word `word` (what `total` already holds of it).
        var nameBest: UInt8 = 0
        var otherBest: UInt8 = 0
        var wordsMatched: UInt8 = 0
        /// The query word (counted from 1) the bests belong to: a later word starts them again from zero, so
        /// no pass over the word's entries is needed after each word.
        var word: UInt8 = 0
    }

    /// One query's per-entry working state, zero between queries: a query resets only what it touched.
    /// Plain memory rather than an array, so the ranking loops run without bounds, uniqueness or
    /// exclusivity checks on every posting. One thread at a time: the pool hands it out under its lock.
    final class Scratch: @unchecked Sendable {
        let slots: UnsafeMutablePointer<Slot>
        private let count: Int
        /// The ranking's list, kept empty between queries with its capacity, so a query does not grow it
        /// from nothing again.
        var touched: [Int32] = []

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
        entryAtPlace = tieOrder.map { Int32($0) }
        var postings: [[UInt8]: [(Int32, UInt8)]] = [:]
        var exact: [String: [(entry: Int32, bonus: Int32)]] = [:]
        // In their tie order, so each token's postings ascend by place: the ranking meets entries roughly
        // best first, and `best` turns the rest away on one comparison.
        for position in tieOrder {
            let entry = entries[position]
            let index = tieRank[position]
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
        let sortedKeys = exact.keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var keyText: [UInt8] = []
        keyText.reserveCapacity(sortedKeys.reduce(0) { $0 + $1.count })
        var keyStart: [Int32] = [0]
        var keyHolderStart: [Int32] = [0]
        var keyHolderEntries: [Int32] = []
        var keyHolderBonuses: [Int32] = []
        for key in sortedKeys {
            keyText += key
            keyStart.append(Int32(keyText.count))
            for (entry, bonus) in exact[String(decoding: key, as: UTF8.self)]! {
                keyHolderEntries.append(entry)
                keyHolderBonuses.append(bonus)
            }
            keyHolderStart.append(Int32(keyHolderEntries.count))
        }
        self.keyText = keyText
        self.keyStart = keyStart
        self.keyHolderStart = keyHolderStart
        self.keyHolderEntries = keyHolderEntries
        self.keyHolderBonuses = keyHolderBonuses
        var keyFilter = [UInt64](repeating: 0, count: Self.keyFilterBits / 64)
        for key in sortedKeys {
            let bit = Self.keyHash(key[...]) & (Self.keyFilterBits - 1)
            keyFilter[bit >> 6] |= 1 << UInt64(bit & 63)
        }
        self.keyFilter = keyFilter

        let sorted = postings.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var tokenText: [UInt8] = []
        tokenText.reserveCapacity(sorted.reduce(0) { $0 + $1.count })
        var tokenStart: [Int32] = [0]
        tokenStart.reserveCapacity(sorted.count + 1)
        var start: [Int32] = [0]
        var postingEntries: [Int32] = []
        var postingFields: [UInt8] = []
        var nameTokens: [Int32] = []
        var byFirst: [[Int32]] = []
        var byLast: [[Int32]] = []
        for (position, token) in sorted.enumerated() {
            let id = Int32(position)
            tokenText += token
            tokenStart.append(Int32(tokenText.count))
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
        self.tokenText = tokenText
        self.tokenStart = tokenStart
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

    /// How many distinct tokens the index holds.
    var tokenCount: Int { tokenStart.count - 1 }

    /// Token `id`'s bytes.
    func token(_ id: Int) -> [UInt8] { Array(tokenText[Int(tokenStart[id])..<Int(tokenStart[id + 1])]) }

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
        return ranking.run(words: words, lowered: lowered, limit: limit).map { Hit(entry: Int(entryAtPlace[$0.entry]), score: $0.score) }
    }
}
