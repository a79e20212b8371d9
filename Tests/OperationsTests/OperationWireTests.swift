import Foundation
import JSON
import Testing
@testable import Operations
@testable import Stores

@Suite struct OperationWireTests {
    /// The checkpoint as stored: the operation's own members, then the process groups it started.
    @Test func checkpointBytes() throws {
        let (_, db) = try makeRunner()
        let store = OperationStore(db: db)
        let id = "77777777-7777-7777-7777-777777777777"
        #expect(try store.begin(OperationRecord(id: id, kind: "test", target: "t", requestId: nil), owner: OperationOwner(pid: getpid(), token: "t")) == .started)
        let context = OperationContext(id: id, target: "t", deadline: .now + .seconds(30), store: store, scrub: { $0 })
        context.checkpoint(["step": "merging"])
        context.childStarted(getpid())
        let group = try #require(ProcessGroup.led(by: getpid()))
        #expect(try store.get(id)?.checkpoint.map(JSONWriter.compact) ==
            #"{"step":"merging","processGroups":[{"pgid":\#(getpid()),"start":\#(group.startTicks)}]}"#)
        #expect(ProcessGroup.recorded(in: try store.get(id)?.checkpoint) == [group])
        // A group recorded with a pid or start that cannot be real is skipped, the others kept.
        let recorded: JSONValue = ["processGroups": [["pgid": 1, "start": 5], ["pgid": 300, "start": 7], ["pgid": "x"], ["pgid": 301, "start": -1]]]
        #expect(ProcessGroup.recorded(in: recorded) == [ProcessGroup(pgid: 300, startTicks: 7)])
        #expect(ProcessGroup.recorded(in: ["step": 1]) == [])
    }

    /// A busy target's error names the operation holding it.
    @Test func busyDetails() {
        #expect(OperationError.busy(target: "x", operationId: "op-1").details == ["operationId": "op-1"])
        #expect(OperationError.tooMany(limit: 2).details == [:])
    }
}
