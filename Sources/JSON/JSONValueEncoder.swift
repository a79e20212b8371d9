/// Encodes an `Encodable` wire type straight to JSON bytes, members in the order `encode(to:)` writes them — for a
/// synthesized conformance, the order the properties are declared in — so a response's bytes (and its ETag) are
/// stable. `nil` is written as `null`, as the API's bodies do; a type that wants a member left out writes its own
/// `encode(to:)`. A `JSONValue` or `JSONObject` inside a wire type is copied as it is, number literals included.
/// Containers are written in order: a key is never written twice, and dictionaries (no stable order) are not used
/// for members.
public enum JSONEncoding {
    public static func bytes<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let stream = JSONStream()
        try stream.write(value)
        return stream.out
    }

    /// The same, as a `JSONValue` (for a service that embeds a wire value in a document it builds).
    public static func value<Value: Encodable>(_ value: Value) throws -> JSONValue {
        try JSONParser.parse(bytes(value), maxDepth: 512)
    }
}

extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let literal): try container.encode(Double(literal) ?? 0)
        case .string(let string): try container.encode(string)
        case .array(let values): try container.encode(values)
        case .object(let object): try container.encode(object)
        }
    }
}

extension JSONObject: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for member in self { try container.encode(member.value, forKey: AnyKey(member.key)) }
    }
}

/// A coding key made from any string.
public struct AnyKey: CodingKey {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// The bytes written so far and the containers still open (each with how many members or elements it has).
///
/// Both live in one allocation the stream owns, behind a pointer: as stored properties of a class, every append would
/// be an access the runtime checks for exclusivity, which cost about a tenth of an encoding.
final class JSONStream {
    struct State {
        var bytes: [UInt8]
        var open: [(object: Bool, count: Int)]
    }

    private let state: UnsafeMutablePointer<State>

    init() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        var open: [(object: Bool, count: Int)] = []
        open.reserveCapacity(8)  // deep enough for every answer, so the stack is allocated once
        state = .allocate(capacity: 1)
        state.initialize(to: State(bytes: bytes, open: open))
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The bytes written so far.
    var out: [UInt8] { state.pointee.bytes }

    func write<Value: Encodable>(_ value: Value) throws {
        // Compared by type rather than cast: a failed dynamic cast per nested value was a good part of an encoding.
        let type = Value.self
        if type == String.self {
            writeString(value as! String)
        } else if type == [String].self {
            writeStrings(value as! [String])
        } else if type == JSONValue.self {
            JSONWriter.append(value as! JSONValue, to: &state.pointee.bytes)
        } else if type == JSONObject.self {
            JSONWriter.append(.object(value as! JSONObject), to: &state.pointee.bytes)
        } else if type == Bool.self {
            writeBool(value as! Bool)
        } else if type == Int.self {
            writeInt(value as! Int)
        } else if type == Double.self {
            writeDouble(value as! Double)
        } else {
            let level = state.pointee.open.count
            let start = state.pointee.bytes.count
            try value.encode(to: StreamEncoder(stream: self, level: level))
            close(above: level)
            if state.pointee.bytes.count == start { writeNull() }  // it wrote nothing at all
        }
    }

    /// Opens a container at `level` unless the value there already opened one; answers its index.
    func container(object: Bool, level: Int) -> Int {
        close(above: level + 1)
        if state.pointee.open.count == level + 1 { return level }
        state.pointee.open.append((object, 0))
        state.pointee.bytes.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        return level
    }

    /// Writes the separator and, in an object, the key, for the next member of container `index`.
    func next(in index: Int, key: String?) {
        close(above: index + 1)
        if state.pointee.open[index].count > 0 { state.pointee.bytes.append(UInt8(ascii: ",")) }
        state.pointee.open[index].count += 1
        if let key {
            writeString(key)
            state.pointee.bytes.append(UInt8(ascii: ":"))
        }
    }

    func count(of index: Int) -> Int { index < state.pointee.open.count ? state.pointee.open[index].count : 0 }

    /// Closes every container opened deeper than `level` (nested ones left open by the value before).
    func close(above level: Int) {
        while state.pointee.open.count > level {
            let closed = state.pointee.open.removeLast()
            state.pointee.bytes.append(closed.object ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    func writeNull() { JSONWriter.appendRaw("null", to: &state.pointee.bytes) }
    func writeBool(_ value: Bool) { JSONWriter.appendRaw(value ? "true" : "false", to: &state.pointee.bytes) }
    func writeInt(_ value: Int) { ASCIIDigits.append(signed: value, to: &state.pointee.bytes) }
    func writeUnsigned(_ value: UInt64) {
        if let small = Int64(exactly: value) { return ASCIIDigits.append(small, to: &state.pointee.bytes) }
        state.pointee.bytes.append(contentsOf: String(value).utf8)
    }
    func writeDouble(_ value: Double) {
        guard case .number(let literal) = JSONValue.number(value) else { return writeNull() }
        state.pointee.bytes.append(contentsOf: literal.utf8)
    }
    func writeString(_ value: String) { JSONWriter.writeString(value, into: &state.pointee.bytes) }

    /// An array of strings, the commonest array in the API's answers, written without a container per element.
    func writeStrings(_ values: [String]) {
        state.pointee.bytes.append(UInt8(ascii: "["))
        for (position, value) in values.enumerated() {
            if position > 0 { state.pointee.bytes.append(UInt8(ascii: ",")) }
            writeString(value)
        }
        state.pointee.bytes.append(UInt8(ascii: "]"))
    }
}

private struct StreamEncoder: Encoder {
    let stream: JSONStream
    let level: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedStream<Key>(stream: stream, index: stream.container(object: true, level: level)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedStream(stream: stream, index: stream.container(object: false, level: level))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleStream(stream: stream) }
}

private struct KeyedStream<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let stream: JSONStream
    let index: Int
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        stream.next(in: index, key: key.stringValue)
        stream.writeNull()
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        stream.next(in: index, key: key.stringValue)
        stream.writeString(value)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        stream.next(in: index, key: key.stringValue)
        stream.writeBool(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        stream.next(in: index, key: key.stringValue)
        stream.writeInt(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        stream.next(in: index, key: key.stringValue)
        stream.writeDouble(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        stream.next(in: index, key: key.stringValue)
        try stream.write(value)
    }

    // Optional members are written as null rather than left out.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        stream.next(in: index, key: key.stringValue)
        return KeyedEncodingContainer(KeyedStream<NestedKey>(stream: stream, index: stream.container(object: true, level: index + 1)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        stream.next(in: index, key: key.stringValue)
        return UnkeyedStream(stream: stream, index: stream.container(object: false, level: index + 1))
    }

    mutating func superEncoder() -> any Encoder {
        stream.next(in: index, key: "super")
        return StreamEncoder(stream: stream, level: index + 1)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        stream.next(in: index, key: key.stringValue)
        return StreamEncoder(stream: stream, level: index + 1)
    }
}

private struct UnkeyedStream: UnkeyedEncodingContainer {
    let stream: JSONStream
    let index: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { stream.count(of: index) }

    mutating func encodeNil() throws {
        stream.next(in: index, key: nil)
        stream.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        stream.next(in: index, key: nil)
        try stream.write(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        stream.next(in: index, key: nil)
        return KeyedEncodingContainer(KeyedStream<NestedKey>(stream: stream, index: stream.container(object: true, level: index + 1)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        stream.next(in: index, key: nil)
        return UnkeyedStream(stream: stream, index: stream.container(object: false, level: index + 1))
    }

    mutating func superEncoder() -> any Encoder {
        stream.next(in: index, key: nil)
        return StreamEncoder(stream: stream, level: index + 1)
    }
}

private struct SingleStream: SingleValueEncodingContainer {
    let stream: JSONStream
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { stream.writeNull() }
    mutating func encode(_ value: Bool) throws { stream.writeBool(value) }
    mutating func encode(_ value: String) throws { stream.writeString(value) }
    mutating func encode(_ value: Double) throws { stream.writeDouble(value) }
    mutating func encode(_ value: Int) throws { stream.writeInt(value) }
    // Other integer widths (a pid's Int32, a tick count's UInt64) end up here, from their own encode(to:); without
    // these, the protocol's defaults would hand them back to the stream, which would ask them to encode themselves.
    mutating func encode(_ value: Int8) throws { stream.writeInt(Int(value)) }
    mutating func encode(_ value: Int16) throws { stream.writeInt(Int(value)) }
    mutating func encode(_ value: Int32) throws { stream.writeInt(Int(value)) }
    mutating func encode(_ value: Int64) throws { stream.writeInt(Int(value)) }
    mutating func encode(_ value: UInt) throws { stream.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { stream.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { stream.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { stream.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { stream.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try stream.write(value) }
}
