import Testing
@testable import JSON

@Suite struct JSONValueEncoderTests {
    struct Upstream: Encodable {
        let gitUrl: String
        let branch: String?
        let lastSyncAt: String?
    }

    struct Row: Encodable {
        let name: String
        let localChanges: Bool
        let localCommits: Int
        let ratio: Double
        let upstream: Upstream
        let tags: [String]
        let extra: JSONValue
    }

    /// Members come out in declaration order, nil as null, nested values and arrays as they are, and a free-form
    /// `JSONValue` keeps its number literals: the bytes are what a hand-built value would give.
    @Test func declarationOrderAndNulls() throws {
        let row = Row(
            name: "@acme/plugin-x", localChanges: true, localCommits: 2, ratio: 0.5,
            upstream: Upstream(gitUrl: "https://example.invalid/x.git", branch: "main", lastSyncAt: nil), tags: ["a", "b"],
            extra: ["exact": .number("10.50"), "list": [1, nil]])
        let bytes = String(decoding: try JSONEncoding.bytes(row), as: UTF8.self)
        #expect(bytes == #"{"name":"@acme/plugin-x","localChanges":true,"localCommits":2,"ratio":0.5,"upstream":{"gitUrl":"https://example.invalid/x.git","branch":"main","lastSyncAt":null},"tags":["a","b"],"extra":{"exact":10.50,"list":[1,null]}}"#)
    }

    /// A type with its own `encode(to:)` decides what is left out; nested containers close where they should.
    @Test func customEncodingAndRewrites() throws {
        struct Sparse: Encodable {
            let id: String
            let note: String?
            enum CodingKeys: String, CodingKey { case id, note }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(id, forKey: .id)
                if let note { try container.encode(note, forKey: .note) }
            }
        }
        #expect(try JSONEncoding.value(Sparse(id: "x", note: nil)) == ["id": "x"])
        #expect(try JSONEncoding.value(Sparse(id: "x", note: "n")) == ["id": "x", "note": "n"])
        #expect(try JSONEncoding.value([Sparse(id: "a", note: nil), Sparse(id: "b", note: "n")]) == [["id": "a"], ["id": "b", "note": "n"]])
        #expect(try JSONEncoding.value(Optional<String>.none) == .null)
        #expect(try JSONEncoding.value([String]()) == [])
        struct Nested: Encodable {
            enum CodingKeys: String, CodingKey { case a, b, c }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: CodingKeys.self)
                var inner = outer.nestedContainer(keyedBy: CodingKeys.self, forKey: .a)
                try inner.encode(1, forKey: .b)
                var list = outer.nestedUnkeyedContainer(forKey: .b)
                try list.encode("x")
                try list.encode(["y": 2])
                try outer.encode(true, forKey: .c)
            }
        }
        #expect(String(decoding: try JSONEncoding.bytes([Nested(), Nested()]), as: UTF8.self)
            == #"[{"a":{"b":1},"b":["x",{"y":2}],"c":true},{"a":{"b":1},"b":["x",{"y":2}],"c":true}]"#)
    }

    /// Strings, string arrays, booleans, numbers and free-form values are written without a container of their own;
    /// the bytes are what the tree writer gives for the same values, wherever they appear.
    @Test func directlyWrittenValues() throws {
        struct Mixed: Encodable {
            let text: String
            let escaped: String
            let tags: [String]
            let none: [String]
            let maybeTags: [String]?
            let missingTags: [String]?
            let nested: [[String]]
            let holes: [String?]
            let flag: Bool
            let count: Int
            let ratios: [Double]
            let free: JSONValue?
            let absent: JSONValue?
            let object: JSONObject
        }
        let value = Mixed(
            text: "plain", escaped: "quote \" backslash \\ newline \n control \u{1} é", tags: ["a", "b\"c"], none: [], maybeTags: ["x"],
            missingTags: nil, nested: [[], ["y", "z"]], holes: ["h", nil], flag: false, count: -42, ratios: [0.5, 3, 1e20, 0.1],
            free: ["n": .number("1.50"), "list": [true, nil]], absent: nil, object: ["k": "v", "e": .object(JSONObject())])
        let tree: JSONValue = [
            "text": "plain", "escaped": "quote \" backslash \\ newline \n control \u{1} é", "tags": ["a", "b\"c"], "none": [],
            "maybeTags": ["x"], "missingTags": nil, "nested": [[], ["y", "z"]], "holes": ["h", nil], "flag": false, "count": -42,
            "ratios": [.number(0.5), .number(3.0), .number(1e20), .number(0.1)], "free": ["n": .number("1.50"), "list": [true, nil]],
            "absent": nil, "object": ["k": "v", "e": .object(JSONObject())],
        ]
        #expect(try JSONEncoding.bytes(value) == JSONWriter.compactBytes(tree))
        #expect(try JSONEncoding.bytes("top \"level\"") == JSONWriter.compactBytes("top \"level\""))
        #expect(try JSONEncoding.bytes(["only", "strings"]) == Array(#"["only","strings"]"#.utf8))
        #expect(try JSONEncoding.bytes([String]()) == Array("[]".utf8))
        #expect(try JSONEncoding.bytes(true) == Array("true".utf8))
        #expect(try JSONEncoding.bytes(7) == Array("7".utf8))
        #expect(try JSONEncoding.bytes(2.5) == Array("2.5".utf8))
        #expect(try JSONEncoding.bytes(Double.nan) == Array("null".utf8))
        #expect(try JSONEncoding.bytes(JSONValue.number("1e3")) == Array("1e3".utf8))
    }

    /// Two values encoded to the same encoder write one object: the second's members follow the first's (a wire type
    /// made of two parts, each encodable alone).
    @Test func twoPartsShareOneObject() throws {
        struct First: Encodable { let a: Int; let nested: [Int]? = nil; let list: [Int] }
        struct Second: Encodable { let b: String?; let c: Bool }
        struct Both: Encodable {
            let first: First
            let second: Second
            func encode(to encoder: any Encoder) throws {
                try first.encode(to: encoder)
                try second.encode(to: encoder)
            }
        }
        let both = Both(first: First(a: 1, list: [2, 3]), second: Second(b: nil, c: true))
        #expect(String(decoding: try JSONEncoding.bytes(both), as: UTF8.self) == #"{"a":1,"nested":null,"list":[2,3],"b":null,"c":true}"#)
        #expect(String(decoding: try JSONEncoding.bytes([both, both]), as: UTF8.self)
            == #"[{"a":1,"nested":null,"list":[2,3],"b":null,"c":true},{"a":1,"nested":null,"list":[2,3],"b":null,"c":true}]"#)
    }

    /// Integers of every width are written as their decimal digits, as members, elements and single values.
    @Test func integersOfEveryWidth() throws {
        struct Widths: Encodable {
            let small: Int8
            let pid: Int32
            let ticks: UInt64
            let byte: UInt8
            let list: [Int16]
        }
        let widths = Widths(small: -128, pid: 4242, ticks: .max, byte: 255, list: [-1, 2])
        #expect(String(decoding: try JSONEncoding.bytes(widths), as: UTF8.self)
            == #"{"small":-128,"pid":4242,"ticks":18446744073709551615,"byte":255,"list":[-1,2]}"#)
        #expect(try JSONEncoding.value(Int64.min) == .number("-9223372036854775808"))
    }
}

@Suite struct ASCIIDigitsTests {
    /// Digits as String would write them, zero-padded to a width, signs included.
    @Test func digits() {
        for value: Int64 in [0, 7, 10, 99, 100, 123_456_789, Int64.max] {
            var bytes: [UInt8] = []
            ASCIIDigits.append(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
        }
        var padded: [UInt8] = []
        ASCIIDigits.append(7, width: 3, to: &padded)
        #expect(padded == Array("007".utf8))
        for value in [-1, -10, Int.min, Int.max] {
            var bytes: [UInt8] = []
            ASCIIDigits.append(signed: value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
        }
    }
}
