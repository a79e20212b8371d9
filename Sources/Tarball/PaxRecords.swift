/// The records of a pax extended header (`x` or `g`) that change how entries are read.
struct PaxRecords {
    struct FormatError: Error {
        let reason: String
    }

    var path: [UInt8]?
    var linkpath: [UInt8]?
    var size: Int64?
    /// A `GNU.sparse.*` key: GNU tar's pax encoding of a sparse file.
    var sparse = false

    /// Parses `"<length> <key>=<value>\n"` records strictly: Node's tar splits the body on every
    /// newline and silently drops records it cannot read, so anything ambiguous is refused here.
    static func parse(_ body: [UInt8]) throws(FormatError) -> PaxRecords {
        guard UTF8Scalars.isValid(body) else { throw FormatError(reason: "the pax header is not valid UTF-8") }
        var records = PaxRecords()
        var start = 0
        while start < body.count {
            var index = start
            var length = 0
            while index < body.count, (0x30...0x39).contains(body[index]), length <= body.count {
                length = length * 10 + Int(body[index] - 0x30)
                index += 1
            }
            guard index > start, body[start] != 0x30, index < body.count, body[index] == 0x20,
                  length > index - start + 1, start + length <= body.count, body[start + length - 1] == 0x0A
            else { throw FormatError(reason: "malformed pax record at byte \(start)") }
            let record = body[(index + 1)..<(start + length - 1)]
            guard !record.contains(0x0A) else { throw FormatError(reason: "a pax record contains a newline") }
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")), equals > record.startIndex else {
                throw FormatError(reason: "malformed pax record at byte \(start)")
            }
            let key = String(decoding: record[..<equals], as: UTF8.self)
            let value = Array(record[(equals + 1)...])
            try records.apply(key: key, value: value)
            start += length
        }
        return records
    }

    private mutating func apply(key: String, value: [UInt8]) throws(FormatError) {
        switch key {
        case "path":
            guard !value.isEmpty else { throw FormatError(reason: "an empty pax path") }
            path = value
        case "linkpath":
            guard !value.isEmpty else { throw FormatError(reason: "an empty pax linkpath") }
            linkpath = value
        case "size":
            guard !value.isEmpty, value.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw FormatError(reason: "the pax size is not a decimal number")
            }
            var parsed: Int64 = 0
            for digit in value {
                let (times10, overflow1) = parsed.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit - 0x30))
                guard !overflow1, !overflow2, sum <= Int64(TarNumber.nodeSafeLimit) else {
                    throw FormatError(reason: "the pax size is out of range")
                }
                parsed = sum
            }
            size = parsed
        default:
            if key.hasPrefix("GNU.sparse.") { sparse = true }
        }
    }
}
