/// One 512-byte header block, checked the way Node's tar (npm's extractor) and GNU tar read it.
struct TarHeader {
    static let blockSize = 512

    /// The name field, cut at its first NUL.
    let name: [UInt8]
    /// The POSIX ustar prefix, cut at its first NUL; empty for GNU and v7 headers.
    let prefix: [UInt8]
    /// The linkname field, cut at its first NUL.
    let linkname: [UInt8]
    let typeflag: UInt8
    let size: Int64

    /// `prefix/name`, the path when no pax or GNU long name overrides it.
    var headerPath: [UInt8] { prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name }

    static func isZeroBlock(_ block: [UInt8]) -> Bool {
        block.allSatisfy { $0 == 0 }
    }

    init(block: [UInt8]) throws(TarballError) {
        precondition(block.count == Self.blockSize)
        let isPOSIX = block[257..<265].elementsEqual("ustar\u{0}00".utf8)
        name = Self.cString(block[0..<100])
        prefix = isPOSIX ? Self.cString(block[345..<500]) : []
        linkname = Self.cString(block[157..<257])
        typeflag = block[156]
        let display = DisplayName.make(prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name)

        guard let recorded = TarNumber.octal(block[148..<156]) else {
            throw .badHeader(entry: display, reason: "the checksum field is not an octal number")
        }
        // Unsigned sum with the checksum field counted as spaces; Node's tar accepts nothing else.
        var sum: Int64 = 8 * 0x20
        for index in 0..<148 { sum += Int64(block[index]) }
        for index in 156..<512 { sum += Int64(block[index]) }
        guard sum == recorded else {
            throw .badHeader(entry: display, reason: "checksum mismatch (recorded \(recorded), computed \(sum))")
        }

        var numeric: [(String, Range<Int>)] = [("mode", 100..<108), ("uid", 108..<116), ("gid", 116..<124), ("mtime", 136..<148)]
        if isPOSIX {
            numeric += [("devmajor", 329..<337), ("devminor", 337..<345)]
            if block[475] == 0 { numeric += [("atime", 476..<488), ("ctime", 488..<500)] }
        }
        for (field, range) in numeric where !TarNumber.nodeParses(block[range]) {
            throw .badHeader(entry: display, reason: "the \(field) field is not a valid number")
        }

        switch TarNumber.size(block[124..<136]) {
        case .value(let value): size = value
        case .malformed: throw .badHeader(entry: display, reason: "the size field is not a valid number")
        case .tooLarge: throw .badHeader(entry: display, reason: "the size field is out of range")
        }
    }

    private static func cString(_ field: ArraySlice<UInt8>) -> [UInt8] {
        Array(field.prefix { $0 != 0 })
    }
}
