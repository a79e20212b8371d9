import Foundation
import Testing
@testable import Stores

@Suite struct InstallHistoryStoreTests {
    /// The newest install of a version decides its integrity; a version without a row has none.
    @Test func newestInstallWins() throws {
        let store = InstallHistoryStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
        #expect(try store.integrities().isEmpty)
        try store.record(name: "a", version: "1.0.0", integrity: "sha512-old", operationId: "op1")
        try store.record(name: "a", version: "1.0.0", integrity: "sha512-new", operationId: "op2")
        try store.record(name: "@s/b", version: "2.0.0", integrity: "sha512-b", operationId: "op3")
        try store.record(name: "c", version: "3.0.0", integrity: nil, operationId: "op4")
        #expect(try store.integrities() == ["a@1.0.0": "sha512-new", "@s/b@2.0.0": "sha512-b"])
        #expect(try store.integrity(name: "a", version: "1.0.0") == "sha512-new")
        #expect(try store.integrity(name: "a", version: "1.0.1") == nil)
        #expect(try store.integrity(name: "c", version: "3.0.0") == nil)
        try store.record(name: "a", version: "1.0.0", integrity: nil, operationId: "op5")
        #expect(try store.integrity(name: "a", version: "1.0.0") == nil)
        #expect(try store.integrities()["a@1.0.0"] == "sha512-new")
    }
}
