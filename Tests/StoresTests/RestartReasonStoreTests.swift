import Foundation
import Testing
@testable import Stores

@Suite struct RestartReasonStoreTests {
    let store: RestartReasonStore

    init() throws {
        store = RestartReasonStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
    }

    /// A reason is kept once; adding it again moves its time forward, which keeps it past a removal for an older time.
    @Test func addIsIdempotentAndMovesTheTime() throws {
        try store.add("plugin a enabled")
        let first = try #require(try store.entries().first)
        Thread.sleep(forTimeInterval: 0.01)
        try store.add("plugin a enabled")
        let entries = try store.entries()
        #expect(entries.map(\.reason) == ["plugin a enabled"])
        #expect(try #require(entries.first).addedAt > first.addedAt)
        try store.remove("plugin a enabled", addedNoLaterThan: first.addedAt)
        #expect(try store.all() == ["plugin a enabled"])
        try store.remove("plugin a enabled", addedNoLaterThan: entries[0].addedAt)
        #expect(try store.all().isEmpty)
    }

    /// The newest intent replaces its opposite; reasons come oldest first; removal and clearing.
    @Test func replaceRemoveClear() throws {
        try store.add("plugin a disabled")
        Thread.sleep(forTimeInterval: 0.01)
        try store.add("plugin b enabled")
        Thread.sleep(forTimeInterval: 0.01)
        try store.replace("plugin a disabled", with: "plugin a enabled")
        #expect(try store.all() == ["plugin b enabled", "plugin a enabled"])
        try store.remove("plugin b enabled")
        #expect(try store.all() == ["plugin a enabled"])
        try store.add("plugin c enabled")
        try store.clear()
        #expect(try store.all().isEmpty)
    }
}
