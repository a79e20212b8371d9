/// Collects a stream's bytes but keeps only the last `limit` of them: the end of a log says why it failed.
struct TailBuffer {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var droppedCount = 0

    init(limit: Int) {
        self.limit = max(0, limit)
    }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
        // Trimming only past twice the limit keeps appends amortised O(1).
        if bytes.count > 2 * limit + 65_536 { trim() }
    }

    /// The kept tail, at most `limit` bytes.
    mutating func finish() -> [UInt8] {
        trim()
        return bytes
    }

    var isTruncated: Bool {
        droppedCount > 0
    }

    private mutating func trim() {
        let excess = bytes.count - limit
        guard excess > 0 else { return }
        bytes.removeFirst(excess)
        droppedCount += excess
    }
}
