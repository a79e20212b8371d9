/// Builds tar archives byte by byte, including the malformed ones real tools refuse to write.
struct TarWriter {
    enum Format {
        /// `ustar\0` `00`: has the 155-byte prefix field.
        case posix
        /// `ustar  \0`: GNU's magic, no prefix.
        case gnu
    }

    /// One header's fields; every default is what GNU tar would write for a small regular file.
    struct Header {
        var name: [UInt8]
        var type: UInt8 = UInt8(ascii: "0")
        var size: Int64 = 0
        var linkname: [UInt8] = []
        var prefix: [UInt8] = []
        var format = Format.posix
        /// Writes the size as GNU base-256 instead of octal.
        var base256Size = false
        /// Added to the correct checksum (0 keeps it valid).
        var checksumError = 0
        /// Last-moment edits to the block, made before the checksum is computed.
        var edit: ((inout [UInt8]) -> Void)?

        init(name: String, type: Character = "0", size: Int64 = 0) {
            self.name = Array(name.utf8)
            self.type = type.asciiValue!
            self.size = size
        }

        init(nameBytes: [UInt8], type: Character = "0", size: Int64 = 0) {
            self.name = nameBytes
            self.type = type.asciiValue!
            self.size = size
        }

        var block: [UInt8] {
            var block = [UInt8](repeating: 0, count: 512)
            put(&block, 0, Array(name.prefix(100)))
            put(&block, 100, octal(0o644, width: 8))
            put(&block, 108, octal(1000, width: 8))
            put(&block, 116, octal(1000, width: 8))
            if base256Size {
                block[124] = 0x80
                for index in 0..<11 { block[135 - index] = UInt8(truncatingIfNeeded: size >> (8 * Int64(index))) }
            } else {
                put(&block, 124, octal(size, width: 12))
            }
            put(&block, 136, octal(1_700_000_000, width: 12))
            block[156] = type
            put(&block, 157, Array(linkname.prefix(100)))
            switch format {
            case .posix:
                put(&block, 257, Array("ustar\u{0}00".utf8))
                put(&block, 345, Array(prefix.prefix(155)))
            case .gnu:
                put(&block, 257, Array("ustar  \u{0}".utf8))
            }
            put(&block, 265, Array("user".utf8))
            put(&block, 297, Array("group".utf8))
            edit?(&block)
            put(&block, 148, Array(repeating: 0x20, count: 8))
            let sum = block.reduce(0) { $0 + Int($1) } + checksumError
            put(&block, 148, octal(Int64(sum), width: 7) + [0x20])
            return block
        }
    }

    private(set) var bytes: [UInt8] = []

    /// A header followed by `data` and its padding; `header.size` is set from `data` unless `declaredSize` is given.
    mutating func entry(_ header: Header, data: [UInt8] = [], declaredSize: Int64? = nil) {
        var header = header
        header.size = declaredSize ?? Int64(data.count)
        bytes += header.block
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    mutating func file(_ name: String, _ contents: String = "x") {
        entry(Header(name: name), data: Array(contents.utf8))
    }

    mutating func directory(_ name: String) {
        entry(Header(name: name, type: "5"))
    }

    /// A pax extended header (`x`, or `g` when `global`) holding these records.
    mutating func pax(_ records: [(String, String)], global: Bool = false, name: String = "PaxHeader/entry") {
        pax(rawRecords: records.map { Self.paxRecord($0.0, Array($0.1.utf8)) }.reduce([], +), global: global, name: name)
    }

    mutating func pax(rawRecords body: [UInt8], global: Bool = false, name: String = "PaxHeader/entry") {
        entry(Header(name: name, type: global ? "g" : "x"), data: body)
    }

    /// `"<length> key=value\n"`, where the length counts itself.
    static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let tail = [0x20] + Array(key.utf8) + [UInt8(ascii: "=")] + value + [0x0A]
        var length = tail.count + 1
        while String(length).utf8.count + tail.count != length { length += 1 }
        return Array(String(length).utf8) + tail
    }

    /// A GNU `L` record: the next entry's name, NUL-terminated.
    mutating func longName(_ name: [UInt8]) {
        var header = Header(name: "././@LongLink", type: "L")
        header.format = .gnu
        entry(header, data: name + [0])
    }

    /// A GNU `K` record: the next entry's link target.
    mutating func longLink(_ target: String) {
        var header = Header(name: "././@LongLink", type: "K")
        header.format = .gnu
        entry(header, data: Array(target.utf8) + [0])
    }

    mutating func zeroBlock() {
        bytes += [UInt8](repeating: 0, count: 512)
    }

    /// The two zero blocks that end an archive.
    mutating func end() {
        zeroBlock()
        zeroBlock()
    }

    mutating func append(_ raw: [UInt8]) {
        bytes += raw
    }
}

private func put(_ block: inout [UInt8], _ offset: Int, _ bytes: [UInt8]) {
    block.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
}

/// `width - 1` zero-padded octal digits and a NUL, as GNU tar writes them.
func octal(_ value: Int64, width: Int) -> [UInt8] {
    let digits = String(value, radix: 8)
    return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
}
