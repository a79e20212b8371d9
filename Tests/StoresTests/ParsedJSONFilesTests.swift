import Foundation
import JSON
import Testing
@testable import Stores

@Suite struct ParsedJSONFilesTests {
    /// A file is parsed once per version: a rewrite in place, a replacement, a removal and bad JSON all show at once.
    @Test func followsTheFile() throws {
        let files = ParsedJSONFiles(limit: 2)
        let dir = temporaryDirectory()
        let path = dir + "/package.json"
        #expect(files.value(at: path) == nil)
        try #"{"version": "1.0.0"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(files.value(at: path)?["version"] == "1.0.0")
        #expect(files.value(at: path)?["version"] == "1.0.0")
        // Rewritten in place, the same size (an editor, a sync).
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Array(#"{"version": "1.0.1"}"#.utf8))
        try handle.close()
        #expect(files.value(at: path)?["version"] == "1.0.1")
        try #"{"version": 2"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(files.value(at: path) == nil)
        try #"{"version": "3.0.0"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(files.value(at: path)?["version"] == "3.0.0")
        // More files than the limit: each still answers for itself.
        for n in 0..<4 { try "{\"n\": \(n)}".write(toFile: dir + "/\(n).json", atomically: true, encoding: .utf8) }
        for n in 0..<4 { #expect(files.value(at: dir + "/\(n).json")?["n"] == .number(Double(n))) }
        try FileManager.default.removeItem(atPath: path)
        #expect(files.value(at: path) == nil)
    }
}
