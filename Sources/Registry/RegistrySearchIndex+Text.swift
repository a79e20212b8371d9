// The search index's text primitives: tokenizing names and queries, finding a word inside the name
// tokens, and the one-edit test for typos.

import Glibc

extension RegistrySearchIndex {
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
                    // The second byte first, in place: most first-byte hits end there without a call.
                    if pattern.count < 2 || base[offset + 1] == pattern[1], memcmp(base + offset, pattern.baseAddress!, pattern.count) == 0 {
                        position = max(found(offset), offset + 1)
                    } else {
                        position = offset + 1
                    }
                }
            }
        }
    }

    /// Where `word` would sit in the sorted vocabulary (the first token not before it), and that token's id
    /// when it is `word` itself.
    func lowerBound(_ word: [UInt8]) -> (position: Int, exact: Int32?) {
        let (position, equal) = Self.lowerBound(word, text: tokenText, starts: tokenStart)
        return (position, equal ? Int32(position) : nil)
    }

    /// The holders (positions in `keyHolderEntries` and `keyHolderBonuses`) of whole-query key `key`; empty when
    /// no entry has that key. The keys compare as UTF-8 bytes.
    func exactKeyHolders(_ key: [UInt8]) -> Range<Int> {
        let bit = Self.keyHash(key[...]) & (Self.keyFilterBits - 1)
        guard keyFilter[bit >> 6] & (1 << UInt64(bit & 63)) != 0 else { return 0..<0 }
        let (position, equal) = Self.lowerBound(key, text: keyText, starts: keyStart)
        guard equal else { return 0..<0 }
        return Int(keyHolderStart[position])..<Int(keyHolderStart[position + 1])
    }

    /// Binary search over sorted byte strings kept as one buffer (string `i` is `text[starts[i]..<starts[i + 1]]`):
    /// the first not before `word`, and whether it is `word`.
    static func lowerBound(_ word: [UInt8], text: [UInt8], starts: [Int32]) -> (position: Int, equal: Bool) {
        text.withUnsafeBufferPointer { text in
            starts.withUnsafeBufferPointer { starts in
                word.withUnsafeBufferPointer { word in
                    var low = 0
                    var high = starts.count - 1
                    while low < high {
                        let mid = (low + high) / 2
                        if compare(text, Int(starts[mid]), Int(starts[mid + 1]), word) < 0 { low = mid + 1 } else { high = mid }
                    }
                    return (low, low < starts.count - 1 && compare(text, Int(starts[low]), Int(starts[low + 1]), word) == 0)
                }
            }
        }
    }

    /// FNV-1a of a key's bytes, for `keyFilter`.
    static func keyHash(_ key: ArraySlice<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash ^ hash >> 29)
    }

    /// The end of the run of tokens starting with `word` that begins at `position` (its lower bound).
    func prefixEnd(_ word: [UInt8], from position: Int) -> Int {
        tokenText.withUnsafeBufferPointer { text in
            tokenStart.withUnsafeBufferPointer { starts in
                word.withUnsafeBufferPointer { word in
                    var id = position
                    while id < starts.count - 1 {
                        let (start, end) = (Int(starts[id]), Int(starts[id + 1]))
                        guard end - start >= word.count, memcmp(text.baseAddress! + start, word.baseAddress!, word.count) == 0 else { break }
                        id += 1
                    }
                    return id
                }
            }
        }
    }

    /// The order of `text[start..<end]` against `word`, bytewise as `lexicographicallyPrecedes` orders them.
    private static func compare(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ word: UnsafeBufferPointer<UInt8>) -> Int {
        let length = end - start
        let common = min(length, word.count)
        if common > 0 {
            let order = memcmp(text.baseAddress! + start, word.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return length - word.count
    }

    /// Whether one insertion, deletion, substitution or swap of neighbours turns `a` into `b`.
    static func withinOneEdit(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in withinOneEdit(a, b) } }
    }

    /// The same over bytes in place (the vocabulary's own buffer).
    static func withinOneEdit(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let (m, n) = (a.count, b.count)
        guard abs(m - n) <= 1 else { return false }
        // One edit of a word of three letters or more leaves its first or its last letter in place.
        if m >= 3, n >= 3, a[0] != b[0], a[m - 1] != b[n - 1] { return false }
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
