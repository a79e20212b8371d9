import Foundation
import Testing
@testable import Registry

private func names(_ query: String, limit: Int = 15) -> [String] {
    realSnapshot.catalog.search.search(query, limit: limit).map { realSnapshot.entries[$0.entry].name }
}

@Suite struct SearchTests {
    /// What a person types finds what they meant, on the real snapshot: the expected plugins lead the results.
    @Test(arguments: [
        ("openai", ["@elizaos/plugin-openai"]),
        ("discord", ["@elizaos/plugin-discord", "@elizaos/client-discord"]),
        ("solana", ["@elizaos/plugin-solana", "@elizaos/plugin-solana-agent-kit"]),
        ("twitter bot", ["@elizaos/client-twitter-api-access", "@elizaos/plugin-twitter"]),
        ("twiter", ["@elizaos/plugin-twitter"]),
        ("discrod", ["@elizaos/plugin-discord", "@elizaos/client-discord"]),
        ("telegarm", ["@elizaos/plugin-telegram"]),
        ("TELEGRAM", ["@elizaos/plugin-telegram", "@elizaos/client-telegram"]),
        ("postgres", ["@elizaos/adapter-postgres"]),
        ("sql", ["@elizaos/plugin-sql", "@elizaos/adapter-sqlite"]),
        ("google chat", ["@elizaos/plugin-google-chat"]),
        ("image generation", ["@elizaos/plugin-image-generation"]),
        ("attps", ["@elizaos/plugin-ATTPs"]),
        ("farcaster", ["@elizaos/plugin-farcaster"]),
        ("evm", ["@elizaos/plugin-evm"]),
        ("@elizaos/plugin-twitter", ["@elizaos/plugin-twitter"]),
        ("plugin-solana", ["@elizaos/plugin-solana"]),
        ("anthropic claude", ["@elizaos/plugin-anthropic"]),
        ("ollama", ["@elizaos/plugin-ollama"]),
        ("bealers", ["@bealers/plugin-mattermost"]),
        ("mattermost", ["@elizaos/plugin-mattermost", "@bealers/plugin-mattermost"]),
        ("lens network", ["@elizaos/plugin-lensNetwork"]),
        ("hyperfy", ["@elizaos/app-hyperfy"]),
    ])
    func relevance(query: String, expected: [String]) {
        let results = names(query)
        #expect(Array(results.prefix(expected.count)) == expected, "\(query): \(results.prefix(5))")
    }

    /// A query equal to a plugin's short id ranks that plugin first, far above partial matches.
    @Test func exactShortIdFirst() {
        let hits = realSnapshot.catalog.search.search("telegram", limit: 5)
        #expect(hits.count >= 2)
        #expect(hits[0].score >= 10 * hits[1].score)
    }

    /// Name matches rank above description and topic matches.
    @Test func nameAboveDescription() {
        let results = names("voice", limit: 50)
        let nameMatches = results.filter { $0.lowercased().contains("voice") }
        #expect(nameMatches.count == 2)
        #expect(Array(results.prefix(2)).sorted() == nameMatches.sorted())
        #expect(results.count > 2)
    }

    /// Every query word counts: an entry matching both words outranks one matching only one of them equally well.
    @Test func everyWordCounts() {
        let results = names("discord voice", limit: 10)
        #expect(Array(results.prefix(2)) == ["@elizaos/client-discord", "@elizaos/plugin-discord"] || Array(results.prefix(2)) == ["@elizaos/plugin-discord", "@elizaos/client-discord"])
        let nft = names("nft solana", limit: 5)
        #expect(nft.first == "@elizaos/plugin-nft-generation")
    }

    /// Equal scores are ordered by stars, most first.
    @Test func starsBreakTies() {
        let hits = realSnapshot.catalog.search.search("wallet", limit: 50)
        #expect(hits.count > 5)
        for (a, b) in zip(hits, hits.dropFirst()) where a.score == b.score {
            #expect(realSnapshot.entries[a.entry].stars >= realSnapshot.entries[b.entry].stars)
        }
    }

    /// Typos are tolerated only for words of four letters or more, and a word that exists is not "corrected".
    @Test func typoLimits() {
        #expect(names("evn").isEmpty)
        #expect(!names("solanna").isEmpty)
        #expect(names("zzqqxxkk").isEmpty)
        // "chat" exists, so it is not also read as "char" or "that".
        for name in names("chat", limit: 50) {
            let entry = realSnapshot.entries.first { $0.name == name }!
            #expect(([entry.name, entry.description] + entry.tags).joined(separator: " ").lowercased().contains("chat"), "\(name)")
        }
    }

    /// Stop words are ignored next to real words but still searched on their own.
    @Test func stopWords() {
        #expect(names("the openai plugin").first == "@elizaos/plugin-openai")
        #expect(!names("plugin").isEmpty)
    }

    /// A word inside a name (not at its start) finds it, counted once per name word, with the substring
    /// weight; inside descriptions and topics it counts for nothing.
    @Test func wordsInsideNames() {
        let hits = realSnapshot.catalog.search.search("gram", limit: 50)
        let byName = Dictionary(hits.map { (realSnapshot.entries[$0.entry].name, $0.score) }, uniquingKeysWith: max)
        #expect(byName["@elizaos/plugin-telegram"] == Int(RegistrySearchIndex.nameWeight[RegistrySearchIndex.Match.substring.rawValue]))
        #expect(hits.allSatisfy { realSnapshot.entries[$0.entry].name.lowercased().contains("gram") })
        #expect(names("elegra").contains("@elizaos/plugin-telegram"))
        #expect(!names("legramx").contains("@elizaos/plugin-telegram"))
    }

    /// Camel-case names are searchable by their parts.
    @Test func camelCaseParts() {
        #expect(names("network").contains("@elizaos/plugin-lensNetwork"))
        #expect(names("pro").contains("@elizaos/plugin-ferePro"))
    }

    /// The edit-distance check: one insertion, deletion, substitution or swap of neighbours.
    @Test func withinOneEdit() {
        func check(_ a: String, _ b: String) -> Bool { RegistrySearchIndex.withinOneEdit(Array(a.utf8), Array(b.utf8)) }
        #expect(check("twitter", "twiter"))
        #expect(check("discord", "discrod"))
        #expect(check("solana", "solanas"))
        #expect(check("solana", "selana"))
        #expect(!check("solana", "slaona"))
        #expect(!check("discord", "dsicrod"))
        #expect(!check("abcd", "abcdef"))
        for (typo, within) in [
            ("xolana", true), ("olana", true), ("ssolana", true), ("oslana", true), ("solanx", true), ("solaan", true),
            ("solan", true), ("solana", true), ("xolanx", false), ("olanas", false), ("losana", false),
        ] {
            #expect(check("solana", typo) == within, "\(typo)")
            #expect(check(typo, "solana") == within, "\(typo) (reversed)")
        }
        // Against the textbook definition (optimal string alignment distance ≤ 1) on every pair of
        // words of one to four letters from a three-letter alphabet.
        func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
            var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            for i in stride(from: 1, through: a.count, by: 1) {
                for j in stride(from: 1, through: b.count, by: 1) {
                    d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
                }
            }
            return d[a.count][b.count]
        }
        var words: [[UInt8]] = [[]]
        var all: [[UInt8]] = []
        for _ in 1...4 {
            words = words.flatMap { word in Array("abc".utf8).map { word + [$0] } }
            all += words
        }
        var wrong = 0
        for a in all {
            for b in all where RegistrySearchIndex.withinOneEdit(a, b) != (distance(a, b) <= 1) { wrong += 1 }
        }
        #expect(wrong == 0)
    }

    /// Occurrences inside the name tokens' text are found left to right, each where a plain scan finds it, and
    /// the search resumes where the caller says (overlapping ones included when it says so).
    @Test func occurrencesAreFoundWhereAPlainScanFindsThem() {
        let text = Array("aaaa\0banana\0anan\0xanax\0nanana\0a".utf8)
        func plain(_ needle: [UInt8]) -> [Int] {
            guard needle.count <= text.count else { return [] }
            return (0...(text.count - needle.count)).filter { Array(text[$0..<($0 + needle.count)]) == needle }
        }
        for needle in ["a", "aa", "an", "ana", "anan", "nana", "x", "banana", "nanana\0a", "q", "aaaaa", "a\0"].map({ Array($0.utf8) }) {
            var every: [Int] = []
            RegistrySearchIndex.forEachOccurrence(of: needle, in: text) { offset in every.append(offset); return offset + 1 }
            #expect(every == plain(needle), "\(needle)")
            // Skipping to the end of each hit, as the ranking skips to the next token.
            var skipping: [Int] = []
            RegistrySearchIndex.forEachOccurrence(of: needle, in: text) { offset in skipping.append(offset); return offset + needle.count }
            var expected: [Int] = []
            for offset in plain(needle) where expected.last.map({ offset >= $0 + needle.count }) ?? true { expected.append(offset) }
            #expect(skipping == expected, "\(needle)")
        }
    }

    /// The vocabulary is one sorted byte string: the binary search a query word starts from finds the word itself
    /// exactly when it is a token, and the tokens after it that start with the word are all of them, as a plain
    /// scan of every token says (words that are tokens, their prefixes, tokens with a letter added or changed).
    @Test func vocabularyLookUpsAgreeWithAPlainScan() {
        let index = realSnapshot.catalog.search
        let tokens = (0..<index.tokenCount).map { index.token($0) }
        #expect(tokens.count > 1000)
        #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
        var words: [[UInt8]] = [[], Array("a".utf8), Array("zzzz".utf8), [0xFF, 0xFF]]
        for token in tokens.prefix(1000) {
            words.append(token)
            words.append(Array(token.prefix(3)))
            words.append(token + [UInt8(ascii: "e")])
            words.append([UInt8(ascii: "0")] + token.dropFirst())
        }
        var wrong = 0
        for word in words {
            let (first, exact) = index.lowerBound(word)
            let expectedExact = tokens.firstIndex(of: word).map(Int32.init)
            let expectedPrefixed = tokens.indices.filter { tokens[$0].starts(with: word) }
            let prefixed = Array(first..<index.prefixEnd(word, from: first))
            if exact != expectedExact || prefixed != expectedPrefixed { wrong += 1 }
        }
        #expect(words.count > 3000)
        #expect(wrong == 0)
    }

    /// Typo candidates come from two buckets (same length band and first byte, or last byte); every
    /// token one edit away from a query word must be in one of them, or a typo would go unfound.
    @Test func typoBucketsHoldEveryTokenOneEditAway() {
        let index = realSnapshot.catalog.search
        let typoIds = (0..<index.tokenCount).filter { id in
            let token = index.token(id)
            return token.count >= RegistrySearchIndex.minTypoLength - 1 && token.contains { !($0 >= 0x30 && $0 <= 0x39) }
        }
        let typoTokens = typoIds.map { index.token($0) }
        var words: [[UInt8]] = []
        for token in typoTokens.prefix(400) where token.count >= 4 {
            words.append(Array(token.dropFirst()))                     // first letter lost
            words.append([UInt8(ascii: "x")] + token)                  // a letter before
            words.append(token + [UInt8(ascii: "q")])                  // a letter after
            var swapped = token
            swapped.swapAt(token.count - 2, token.count - 1)           // last two swapped
            words.append(swapped)
            var substituted = token
            substituted[0] = UInt8(ascii: "z")                         // first letter wrong
            words.append(substituted)
        }
        var missing = 0
        for word in words where word.count >= RegistrySearchIndex.minTypoLength {
            var candidates = Set<Int32>()
            for length in (word.count - 1)...(word.count + 1) {
                for (buckets, byte) in [(index.typoByFirst, word[0]), (index.typoByLast, word[word.count - 1])] {
                    let key = length << 8 | Int(byte)
                    if key < buckets.count { candidates.formUnion(buckets[key]) }
                }
            }
            for id in typoIds where RegistrySearchIndex.withinOneEdit(index.token(id), word) {
                if !candidates.contains(Int32(id)) { missing += 1 }
            }
        }
        #expect(words.count > 1000)
        #expect(missing == 0)
    }

    /// On a synthetic 10,000-entry registry, 1,000+ distinct queries (words, pairs, typos) answer the same
    /// whatever ran before them and however many run at once: the per-query working arrays are reused, and
    /// nothing of one query may leak into the next. (Speed is measured by `scripts/bench`, not here.)
    @Test func answersDoNotDependOnEarlierQueries() async throws {
        let document = try RegistryDocumentParser().parse(try syntheticRegistry(count: 10_000))
        #expect(document.entries.count == 10_000)
        let forward = RegistryCatalog(document: document)
        let backward = RegistryCatalog(document: document)
        let queries = benchmarkQueries()
        #expect(queries.count >= 1_000)
        let expected = queries.map { forward.search.search($0, limit: 15) }
        #expect(expected.reduce(0) { $0 + $1.count } > queries.count)
        for (query, hits) in zip(queries, expected).reversed() {
            #expect(backward.search.search(query, limit: 15) == hits, "\(query)")
        }
        // Eight tasks at once over the same index, each in its own order.
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for offset in 0..<8 {
                group.addTask {
                    var wrong = 0
                    for step in queries.indices {
                        let i = (step * 7 + offset * 131) % queries.count
                        if forward.search.search(queries[i], limit: 15) != expected[i] { wrong += 1 }
                    }
                    return wrong
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
