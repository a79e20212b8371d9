import JSON
import Testing
@testable import Stores

@Suite struct OperationRecordWireTests {
    /// An operation as the API shows it, member for member and in order; the checkpoint is never shown.
    @Test func wireBytes() throws {
        var record = OperationRecord(id: "a1", kind: "install", target: "@acme/plugin-x", requestId: nil)
        record.startedAt = "2026-01-01T00:00:00.000Z"
        record.checkpoint = ["step": 2]
        #expect(try wireText(record) ==
            #"{"id":"a1","kind":"install","target":"@acme/plugin-x","state":"running","phase":"starting","progress":null,"#
            + #""startedAt":"2026-01-01T00:00:00.000Z","finishedAt":null,"requestId":null,"error":null,"logTail":[],"result":null}"#)
        record.state = .failed
        record.phase = "fetching"
        record.progress = 0.25
        record.finishedAt = "2026-01-01T00:00:01.000Z"
        record.requestId = "r-1"
        record.error = "no \"network\""
        record.logTail = ["one", "two"]
        record.result = ["ok": true, "size": .number("10.50")]
        #expect(try wireText(record) ==
            #"{"id":"a1","kind":"install","target":"@acme/plugin-x","state":"failed","phase":"fetching","progress":0.25,"#
            + #""startedAt":"2026-01-01T00:00:00.000Z","finishedAt":"2026-01-01T00:00:01.000Z","requestId":"r-1","#
            + #""error":"no \"network\"","logTail":["one","two"],"result":{"ok":true,"size":10.50}}"#)
        record.progress = 1
        #expect(try wireText(record).contains(#""progress":1,"#))
    }

    func wireText(_ record: OperationRecord) throws -> String { String(decoding: try JSONEncoding.bytes(record), as: UTF8.self) }
}
