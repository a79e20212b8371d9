// Scoring one query against the index (the weights and limits are on RegistrySearchIndex).
extension RegistrySearchIndex {
    /// One query's ranking over the index, accumulating into the scratch memory.
    struct Ranking {
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
            // Moved out rather than shared, so appending never copies them; `run` hands them back.
            swap(&touched, &scratch.touched)
            swap(&wordTouched, &scratch.wordTouched)
        }

        mutating func run(words: [[UInt8]], lowered: String, limit: Int) -> [Hit] {
            defer {
                // Only what this query touched is non-zero (the per-word bests are cleared after each word).
                let slots = scratch.slots
                for entry in touched { slots[Int(entry)] = Slot() }
                touched.removeAll(keepingCapacity: true)
                wordTouched.removeAll(keepingCapacity: true)
                swap(&touched, &scratch.touched)
                swap(&wordTouched, &scratch.wordTouched)
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
            // Tokens equal to or starting with the word sit together in the sorted vocabulary, from its lower bound.
            let (first, exactId) = index.lowerBound(word)
            if let exactId { apply(exactId, .exact) }
            if word.count >= RegistrySearchIndex.minPrefixLength {
                let end = index.prefixEnd(word, from: first)
                for id in first..<end where Int32(id) != exactId { apply(Int32(id), .prefix) }
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
            let starts = index.tokenStart
            var found: [Int32] = []
            index.tokenText.withUnsafeBufferPointer { text in
                word.withUnsafeBufferPointer { word in
                    for id in buckets[key] {
                        let token = UnsafeBufferPointer(rebasing: text[Int(starts[Int(id)])..<Int(starts[Int(id) + 1])])
                        if let skipFirst, token[0] == skipFirst { continue }
                        if RegistrySearchIndex.withinOneEdit(token, word) { found.append(id) }
                    }
                }
            }
            for id in found {
                apply(id, .typo)
                // A one-word query one typo away from a name still puts that plugin first (`twiter`).
                if alone {
                    for (entry, bonus) in index.exactKeys[String(decoding: index.token(Int(id)), as: UTF8.self)] ?? [] {
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
}
