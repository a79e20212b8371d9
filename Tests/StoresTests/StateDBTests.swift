import Foundation
import Testing
@testable import Stores

@Suite struct StateDBTests {
    /// The database opens, migrates, is 0600, and opens again over the same file.
    @Test func opensTwice() throws {
        let dir = temporaryDirectory()
        let db = try StateDB(path: dir + "/state.db")
        #expect(db.isUsable())
        try RestartReasonStore(db: db).add("plugin x enabled")
        try RestartReasonStore(db: db).add("plugin x enabled")
        let again = try StateDB(path: dir + "/state.db")
        #expect(try RestartReasonStore(db: again).all() == ["plugin x enabled"])
        var info = stat()
        stat(dir + "/state.db", &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    /// A file that is not a database is refused at start instead of being served.
    @Test func refusesGarbage() throws {
        let dir = temporaryDirectory()
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: dir + "/state.db"))
        #expect(throws: (any Error).self) { try StateDB(path: dir + "/state.db") }
    }

    /// A remembered read is answered again from memory while nothing was committed, and read afresh after every
    /// commit: by this process (through any store) and by another connection to the same file (another process).
    @Test func rememberedReadsFollowEveryCommit() throws {
        let dir = temporaryDirectory()
        let db = try StateDB(path: dir + "/state.db")
        let reasons = RestartReasonStore(db: db)
        var reads = 0
        func count() throws -> Int {
            try db.remembered("test.count") { db in
                reads += 1
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM restartReason") ?? -1
            }
        }
        #expect(try count() == 0 && reads == 1)
        #expect(try count() == 0 && reads == 1)
        try reasons.add("plugin x enabled")
        #expect(try count() == 1 && reads == 2)
        #expect(try reasons.all() == ["plugin x enabled"])
        // A write through another store, to another table, is a commit too.
        try InstallHistoryStore(db: db).record(name: "x", version: "1.0.0", integrity: nil, operationId: "op")
        #expect(try count() == 1 && reads == 3)
        // Another process: a second connection to the same file.
        let other = try StateDB(path: dir + "/state.db")
        try other.pool.write { db in try db.execute(sql: "INSERT INTO restartReason (reason, addedAt) VALUES ('b', 'now')") }
        #expect(try count() == 2 && reads == 4)
        #expect(try reasons.all() == ["plugin x enabled", "b"])
        try reasons.remove("b")
        #expect(try count() == 1 && reasons.all() == ["plugin x enabled"])
    }
}
