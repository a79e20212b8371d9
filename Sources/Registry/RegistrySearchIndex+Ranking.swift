// Scoring one query against the index (the weights and limits are on RegistrySearchIndex).
extension RegistrySearchIndex {
    /// One query's ranking over the index, accumulating into the scratch memory.
    struct Ranking {
        let index: RegistrySearchIndex
        let scratch: Scratch
        /// Entries with a non-zero total, in the order they were first scored.
        var touched: [Int32] = []
        /// The word being scored, counted from 1 (`Slot.word`).
        var word: UInt8 = 0
        /// One-word queries a typo away from a whole name: entries and their reduced bonus.
        var typoKeys: [(entry: Int32, bonus: Int32)] = []

        init(index: RegistrySearchIndex, scratch: Scratch) {
            self.index = index
            self.scratch = scratch
            // Moved out rather than shared, so appending never copies it; `run` hands it back.
            swap(&touched, &scratch.touched)
        }

        mutating func run(words: [[UInt8]], lowered: String, limit: Int) -> [Hit] {
            defer {
                // Only what this query touched is non-zero.
                let slots = scratch.slots
                for entry in touched { slots[Int(entry)] = Slot() }
                touched.removeAll(keepingCapacity: true)
                swap(&touched, &scratch.touched)
            }
            // The whole query naming an entry, as typed or with its words joined by '-' (`google chat`).
            let collapsed = lowered.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            var keys = [collapsed]
            if words.count > 1 { keys.append(words.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "-")) }
            for key in keys {
                for holder in index.exactKeyHolders(Array(key.utf8)) { award(index.keyHolderEntries[holder], atLeast: index.keyHolderBonuses[holder]) }
            }
            for (position, word) in words.enumerated() {
                self.word = UInt8(position + 1)
                score(word, alone: words.count == 1)
            }
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
            if slot.pointee.total == 0 { touched.append(entry) }
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
                    for holder in index.exactKeyHolders(index.token(Int(id))) {
                        typoKeys.append((index.keyHolderEntries[holder], index.keyHolderBonuses[holder] - RegistrySearchIndex.typoKeyPenalty))
                    }
                }
            }
        }

        /// Every entry the token appears in gets the token's weight for its fields and match kind, if better
        /// than what the current word already gave it. The total follows each raise of the word's bests, so the
        /// word needs no pass of its own over the entries it touched.
        mutating func apply(_ token: Int32, _ match: Match) {
            let word = self.word
            let slots = scratch.slots
            let range = Int(index.postingStart[Int(token)])..<Int(index.postingStart[Int(token) + 1])
            RegistrySearchIndex.fieldWeights.withUnsafeBufferPointer { table in
                let weights = table.baseAddress! + match.rawValue * 16
                index.postingEntries.withUnsafeBufferPointer { entries in
                    index.postingFields.withUnsafeBufferPointer { fieldsOf in
                        for p in range {
                            let packed = weights[Int(fieldsOf[p] & 15)]
                            if packed == 0 { continue }
                            let (name, other) = (UInt8(truncatingIfNeeded: packed >> 8), UInt8(truncatingIfNeeded: packed))
                            let entry = entries[p]
                            let slot = slots + Int(entry)
                            if slot.pointee.word != word {
                                if slot.pointee.total == 0 { touched.append(entry) }
                                slot.pointee.word = word
                                slot.pointee.nameBest = 0
                                slot.pointee.otherBest = 0
                                slot.pointee.wordsMatched += 1
                            }
                            if name > slot.pointee.nameBest {
                                slot.pointee.total += Int32(name - slot.pointee.nameBest)
                                slot.pointee.nameBest = name
                            }
                            if other > slot.pointee.otherBest {
                                slot.pointee.total += Int32(other - slot.pointee.otherBest)
                                slot.pointee.otherBest = other
                            }
                        }
                    }
                }
            }
        }

        /// The best `limit` touched entries in order: score, then stars, then name. Entries by their place.
        func best(_ limit: Int) -> [Hit] {
            let slots = scratch.slots
            // Score, then the tie order (an entry's number is its place in it), as one key: higher is better.
            func key(_ e: Int) -> Int64 { Int64(slots[e].total) << 32 | Int64(UInt32(bitPattern: ~Int32(e))) }
            var best: [(entry: Int, key: Int64)] = []
            best.reserveCapacity(limit + 1)
            // Once `limit` are held, a total below the last one's cannot enter: most entries a common word
            // touched are turned away on their total alone.
            var floor: Int32 = 1
            for entry in touched {
                let e = Int(entry)
                let total = slots[e].total
                guard total >= floor else { continue }
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
                if best.count == limit { floor = Int32(truncatingIfNeeded: best[limit - 1].key >> 32) }
            }
            return best.map { Hit(entry: $0.entry, score: Int(slots[$0.entry].total)) }
        }
    }
}
