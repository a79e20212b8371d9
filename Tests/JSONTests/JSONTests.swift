import Foundation
import Testing
@testable import JSON

@Suite struct JSONParsingTests {
    /// Member order and number literals survive a parse and a write.
    @Test func roundTripKeepsOrderAndLiterals() throws {
        let text = #"{"z":1,"a":{"y":1e3,"b":10.50,"c":-0},"m":[true,false,null,"x"]}"#
        let value = try JSONParser.parse(text)
        #expect(JSONWriter.compact(value) == text)
        #expect(value["a"]?.objectValue?.keys == ["y", "b", "c"])
    }

    /// Pretty output matches JavaScript's JSON.stringify(value, null, 2).
    @Test func prettyMatchesJavaScript() throws {
        let value = try JSONParser.parse(#"{"a":[1,{"b":"c"}],"e":{},"f":[]}"#)
        #expect(JSONWriter.pretty(value) == "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}")
    }

    /// Nesting one level over the limit is refused; at the limit it is accepted.
    @Test func depthLimit() throws {
        let atLimit = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let over = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        _ = try JSONParser.parse(atLimit, maxDepth: 64)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(over, maxDepth: 64) }
        let deepObject = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        do {
            _ = try JSONParser.parse(deepObject, maxDepth: 64)
            Issue.record("expected a depth error")
        } catch {
            #expect(error.reason == .tooDeep(limit: 64))
        }
    }

    /// Things JSON5 or sloppy writers produce are refused, not guessed at.
    @Test(arguments: [
        "{a: 1}", "{'a': 1}", "{\"a\": 1,}", "[1,]", "// c\n{}", "01", "1.", ".5", "+1", "NaN", "\"\u{01}\"",
        "\"\\x41\"", "\"\\ud800\"", "{} {}", "", "tru", "\"abc",
    ])
    func refusesNonStrictJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    /// Escapes decode, surrogate pairs join, and writing escapes only what JSON needs.
    @Test func stringsAndEscapes() throws {
        let value = try JSONParser.parse(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\né😀"))
        #expect(JSONWriter.compact(.string("é\u{01}\t\"")) == "\"é\\u0001\\t\\\"\"")
    }

    /// Every ASCII character is written as JSON.stringify writes it, between unescaped runs of any length,
    /// and every string reads back unchanged.
    @Test func everyASCIICharacterAsJSONStringifyWritesIt() throws {
        let named: [UInt8: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: "\\\"", 0x5C: "\\\\"]
        for byte in UInt8(0)..<0x80 {
            let hex = String(byte, radix: 16)
            let escaped = named[byte] ?? (byte < 0x20 ? "\\u00" + String(repeating: "0", count: 2 - hex.count) + hex : String(UnicodeScalar(byte)))
            let text = "ab" + String(UnicodeScalar(byte)) + "é😀" + String(UnicodeScalar(byte))
            #expect(JSONWriter.compact(.string(text)) == "\"ab\(escaped)é😀\(escaped)\"", "byte \(byte)")
            #expect(try JSONParser.parse(JSONWriter.compact(.string(text))) == .string(text))
        }
        var bytes: [UInt8] = []
        JSONWriter.appendString("\u{7F}x\u{1F}", to: &bytes)
        JSONWriter.append(["k": [1, nil, false]], to: &bytes)
        JSONWriter.appendMembers(JSONObject([.init(key: "a\"", value: 1), .init(key: "b", value: ["c": true])]), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "\"\u{7F}x\\u001f\"{\"k\":[1,null,false]}\"a\\\"\":1,\"b\":{\"c\":true}")
    }

    /// Strings are scanned eight bytes at a time: a character to escape is found wherever it falls in or across a
    /// word, in short and long strings, beside multi-byte characters and bytes just around the escaped ranges.
    @Test func escapesFoundAtEveryOffset() throws {
        func reference(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let specials: [Character] = ["\"", "\\", "\u{0}", "\u{1F}", "\n", "\u{08}"]
        let neighbours: [Character] = ["a", " ", "!", "#", "[", "]", "\u{7F}", "é", "😀"]
        for length in 0..<40 {
            for position in 0...length {
                for (n, special) in specials.enumerated() {
                    var characters = (0..<length).map { neighbours[($0 + n) % neighbours.count] }
                    characters.insert(special, at: position)
                    let text = String(characters)
                    #expect(JSONWriter.compact(.string(text)) == reference(text), "\(length) \(position) \(n)")
                }
            }
            let clean = String((0..<length).map { neighbours[$0 % neighbours.count] })
            #expect(JSONWriter.compact(.string(clean)) == reference(clean))
        }
    }

    /// Setting a key keeps its position; a new key goes last; duplicates collapse to the new value.
    @Test func objectEditsKeepPlaces() throws {
        guard case .object(var object) = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#) else { Issue.record("not an object"); return }
        #expect(object["a"] == .number("3"))
        object["a"] = "x"
        object["c"] = true
        #expect(JSONWriter.compact(.object(object)) == #"{"a":"x","b":2,"c":true}"#)
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
    }

    /// Invalid UTF-8 inside a string is refused.
    @Test func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }
}
