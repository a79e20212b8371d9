import Foundation
import JSON
import Testing
@testable import Stores

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "plugind-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func fileText(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

@Suite struct AgentConfigFileTests {
    /// A change to one key keeps unknown keys, their order and their number literals; the file is 0600.
    @Test func roundTripPreservesTheRest() throws {
        let dir = temporaryDirectory()
        let path = dir + "/milady.json"
        try #"{"agents":{"list":[{"id":"main","temperature":0.70,"max":1e3}]},"env":{"B":"2","A":"1"},"zeta":true}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        try AgentConfigFile(path: path).update { doc in
            var env = doc["env"]!.objectValue!
            env["C"] = "3"
            doc["env"] = .object(env)
        }
        let text = try #require(fileText(path))
        let parsed = try JSONParser.parse(text)
        #expect(parsed.objectValue?.keys == ["agents", "env", "zeta"])
        #expect(parsed["env"]?.objectValue?.keys == ["B", "A", "C"])
        #expect(text.contains("\"temperature\": 0.70"))
        #expect(text.contains("\"max\": 1e3"))
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    /// The reader's copy follows every change of the file: one of plugind's own, another program's
    /// rename into place, an edit in place of the same size, and the file's removal.
    @Test func currentFollowsEveryChange() throws {
        let dir = temporaryDirectory()
        let path = dir + "/milady.json"
        let file = AgentConfigFile(path: path)
        #expect(try file.current() == JSONObject())
        try #"{"env":{"A":"1"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try file.current()["env"]?["A"]?.stringValue == "1")
        #expect(try file.current()["env"]?["A"]?.stringValue == "1")
        try file.update { doc in doc["env"] = .object(["A": "2"]) }
        #expect(try file.current()["env"]?["A"]?.stringValue == "2")
        try #"{"env":{"A":"3"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try file.current()["env"]?["A"]?.stringValue == "3")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64(Array(#"{"env":{"A":""#.utf8).count))
        try handle.write(contentsOf: Array("4".utf8))
        try handle.close()
        #expect(try file.current()["env"]?["A"]?.stringValue == "4")
        try FileManager.default.removeItem(atPath: path)
        #expect(try file.current() == JSONObject())
    }

    /// A JSON5 file (comments, trailing commas) is never rewritten: the update fails and the bytes stay.
    @Test func json5IsLeftAlone() throws {
        let dir = temporaryDirectory()
        let path = dir + "/milady.json"
        let original = "{\n  // my agent\n  env: { A: 'x', },\n}\n"
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        let file = AgentConfigFile(path: path)
        #expect(throws: StoreError.self) { try file.update { $0["x"] = 1 } }
        #expect(fileText(path) == original)
        try #"{"$include":"other.json"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try file.update { $0["x"] = 1 } }
    }

    /// A change that throws writes nothing; an unchanged document is not rewritten.
    @Test func failedOrEmptyChangeWritesNothing() throws {
        struct Refused: Error {}
        let dir = temporaryDirectory()
        let path = dir + "/milady.json"
        let original = #"{"a" : 1}"#
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        let file = AgentConfigFile(path: path)
        #expect(throws: Refused.self) { try file.update { doc in doc["b"] = 2; throw Refused() } }
        try file.update { _ in }
        #expect(fileText(path) == original)
        // A missing file reads as empty and is created on the first change.
        let fresh = AgentConfigFile(path: dir + "/sub/new.json")
        #expect(try fresh.read().isEmpty)
        try fresh.update { $0["x"] = true }
        #expect(fileText(dir + "/sub/new.json") == "{\n  \"x\": true\n}\n")
    }

    /// A writer's preparation sees the new document and the stamp the file has once it is in place, while the old
    /// file is still the one readers see: what it keeps under that stamp is there before any reader can ask for it.
    /// Nothing is prepared when nothing is written.
    @Test func preparationSeesTheStampTheFileWillHave() throws {
        struct Refused: Error {}
        let dir = temporaryDirectory()
        let path = dir + "/milady.json"
        try #"{"a": 1}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let file = AgentConfigFile(path: path)
        let before = FileStamp(path: path)
        var prepared: [(JSONObject, FileStamp, String?, FileStamp?)] = []
        let prepare: AgentConfigFile.Preparation = { document, stamp in
            prepared.append((document, stamp, fileText(path), FileStamp(path: path)))
        }
        try file.update({ $0["b"] = 2 }, prepare: prepare)
        #expect(prepared.count == 1)
        #expect(prepared.first?.0 == ["a": 1, "b": 2])
        #expect(prepared.first?.1 == FileStamp(path: path))
        // Not yet in place while preparing: a reader then still sees the old file and its stamp.
        #expect(prepared.first?.2 == #"{"a": 1}"#)
        #expect(prepared.first?.3 == before && before != FileStamp(path: path))
        #expect(fileText(path)?.contains("\"b\": 2") == true)
        #expect(try file.current() == ["a": 1, "b": 2])
        try file.update({ _ in }, prepare: prepare)
        #expect(throws: Refused.self) { try file.update({ doc -> Void in doc["c"] = 3; throw Refused() }, prepare: prepare) }
        #expect(prepared.count == 1)
    }

    /// Many threads and a second process updating at once lose no update.
    @Test func concurrentWritersLoseNothing() throws {
        let dir = temporaryDirectory()
        let path = dir + "/milady.json"
        try #"{"keep":1}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: probePath())
        probe.arguments = [path, "PROC", "60"]
        try probe.run()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let file = AgentConfigFile(path: path)
            for i in 0..<15 {
                try! file.update { doc in
                    var env = doc["env"]?.objectValue ?? JSONObject()
                    env["T\(worker)_\(i)"] = "x"
                    doc["env"] = .object(env)
                }
            }
        }
        probe.waitUntilExit()
        #expect(probe.terminationStatus == 0)
        let env = try #require(try AgentConfigFile(path: path).read()["env"]?.objectValue)
        #expect(env.count == 8 * 15 + 60)
        #expect(try AgentConfigFile(path: path).read()["keep"] == .number("1"))
        // No temp files left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }
}

/// The probe executable sits beside the test bundle in the build directory.
func probePath() -> String {
    var url = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent("config-writer-probe").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url.deleteLastPathComponent()
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/config-writer-probe").path
}
