import Synchronization

/// Keeps the last encoded body per stamp: a stamp names everything the body depends on,
/// so a hit is always current.
final class ResponseCache: Sendable {
    private let entries = Mutex<[String: [UInt8]]>([:])
    private let limit: Int

    init(limit: Int = 16) {
        self.limit = limit
    }

    func body(for stamp: String, make: () throws -> [UInt8]) rethrows -> [UInt8] {
        if let hit = entries.withLock({ $0[stamp] }) { return hit }
        let made = try make()
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll() }
            entries[stamp] = made
        }
        return made
    }
}
