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
}
