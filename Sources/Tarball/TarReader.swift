/// A push parser over the decompressed tar stream: fed arbitrary chunks, it keeps one header block,
/// at most one metadata record (≤ 1 MiB) and `package.json` in memory, never file data.
///
/// Its rules are a superset of what npm's extractor (Node's tar) would trip over: whenever Node
/// would skip a header (and then read that entry's data as headers), the tarball is refused.
struct TarReader {
    /// Node's tar ignores pax and long-name records larger than this, so they are refused instead.
    static let maxMetadataBytes = 1 << 20
    /// Pax and long-name records in a row before an entry.
    static let maxMetadataInARow = 32

    private enum Sink {
        case discard
        case packageJSON
        case metadata(MetadataKind)
    }

    private enum MetadataKind {
        case pax
        case globalPax
        case longName
        case longLink
    }

    private enum State {
        case header
        case body(remaining: Int64, padding: Int, sink: Sink)
        case ended
    }

    /// Overrides for the next entry (`x`, `L`, `K`) or for all that follow (`g`).
    private struct Overrides {
        var path: [UInt8]?
        var pathFromPax = false
        var linkpath: [UInt8]?
        var size: Int64?
        var sparse = false
        var isEmpty: Bool { path == nil && linkpath == nil && size == nil && !sparse }
    }

    let limits: TarballLimits
    private var state = State.header
    private var block: [UInt8] = []
    private var pending = Overrides()
    private var global = Overrides()
    private var metadata: [UInt8] = []
    private var metadataName = ""
    private var packageJSONBuffer: [UInt8] = []
    private var packageJSON: [UInt8]?
    private var zeroBlocksInARow = 0
    private var metadataInARow = 0
    private var entries = 0
    private var fileBytes: Int64 = 0
    private var declaredBytes: Int64 = 0
    /// Bytes seen after the end-of-archive marker, which are ignored.
    private(set) var bytesAfterEnd: Int64 = 0

    init(limits: TarballLimits) {
        self.limits = limits
        block.reserveCapacity(TarHeader.blockSize)
    }

    /// Two zero blocks have been read: the rest of the stream is ignored.
    var hasEnded: Bool {
        if case .ended = state { return true }
        return false
    }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(TarballError) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .ended:
                bytesAfterEnd += Int64(bytes.count - index)
                return
            case .header:
                let take = min(TarHeader.blockSize - block.count, bytes.count - index)
                block.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)]))
                index += take
                if block.count == TarHeader.blockSize {
                    let full = block
                    block.removeAll(keepingCapacity: true)
                    try headerBlock(full)
                }
            case .body(var remaining, var padding, let sink):
                let available = bytes.count - index
                if remaining > 0 {
                    let take = Int(min(remaining, Int64(available)))
                    deliver(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)]), to: sink)
                    remaining -= Int64(take)
                    index += take
                } else {
                    let take = min(padding, available)
                    padding -= take
                    index += take
                }
                if remaining == 0 && padding == 0 {
                    state = .header
                    try endOfBody(sink)
                } else {
                    state = .body(remaining: remaining, padding: padding, sink: sink)
                }
            }
        }
    }

    /// The input is over: a missing end marker is tolerated, a cut entry or header is not.
    func finish() throws(TarballError) -> TarballSummary {
        switch state {
        case .ended:
            break
        case .header:
            guard block.isEmpty, pending.isEmpty else { throw .truncated }
        case .body:
            throw .truncated
        }
        return TarballSummary(entries: entries, unpackedBytes: fileBytes, packageJSON: packageJSON)
    }

    // MARK: - Headers

    private mutating func headerBlock(_ bytes: [UInt8]) throws(TarballError) {
        if TarHeader.isZeroBlock(bytes) {
            // Node's tar reads on after a lone zero block, so only two in a row end the archive.
            zeroBlocksInARow += 1
            if zeroBlocksInARow == 2 { state = .ended }
            return
        }
        zeroBlocksInARow = 0
        let header = try TarHeader(block: bytes)
        let path = pending.path ?? header.headerPath
        let display = DisplayName.make(path)

        // Node applies the pending and global sizes to every header, pax and long-name ones included.
        for override in [pending.size, global.size] {
            if let override, override != header.size {
                throw .badHeader(entry: display, reason: "the pax size \(override) disagrees with the header size \(header.size)")
            }
        }
        if let reason = Self.forbiddenType(header.typeflag) { throw .forbiddenEntry(entry: display, reason: reason) }
        if pending.sparse || global.sparse { throw .forbiddenEntry(entry: display, reason: "a GNU sparse file") }
        // Node skips a non-link header that carries a link target, and reads its data as headers.
        if !header.linkname.isEmpty || pending.linkpath != nil || global.linkpath != nil {
            throw .badHeader(entry: display, reason: "a link target on an entry that is not a link")
        }
        guard !header.name.isEmpty else { throw .badHeader(entry: display, reason: "an empty name field") }

        switch header.typeflag {
        case UInt8(ascii: "x"): try metadataHeader(header, .pax, display: display)
        case UInt8(ascii: "g"): try metadataHeader(header, .globalPax, display: display)
        case UInt8(ascii: "L"): try metadataHeader(header, .longName, display: display)
        case UInt8(ascii: "K"): try metadataHeader(header, .longLink, display: display)
        default: try entryHeader(header, path: path, display: display)
        }
    }

    /// nil for the kinds this reader accepts: regular files, directories and metadata records.
    private static func forbiddenType(_ typeflag: UInt8) -> String? {
        switch typeflag {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "5"), UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            return nil
        case UInt8(ascii: "1"): return "a hard link"
        case UInt8(ascii: "2"): return "a symbolic link"
        case UInt8(ascii: "3"): return "a character device"
        case UInt8(ascii: "4"): return "a block device"
        case UInt8(ascii: "6"): return "a FIFO"
        case UInt8(ascii: "S"): return "a GNU sparse file"
        case 0x21...0x7E: return "an unsupported entry type '\(Character(Unicode.Scalar(typeflag)))'"
        default: return "an unsupported entry type 0x\(String(typeflag, radix: 16))"
        }
    }

    private mutating func metadataHeader(_ header: TarHeader, _ kind: MetadataKind, display: String) throws(TarballError) {
        metadataInARow += 1
        guard metadataInARow <= Self.maxMetadataInARow else {
            throw .badHeader(entry: display, reason: "more than \(Self.maxMetadataInARow) pax or long-name records in a row")
        }
        guard header.size <= Int64(Self.maxMetadataBytes) else {
            throw .badHeader(entry: display, reason: "a pax or long-name record larger than \(Self.maxMetadataBytes) bytes")
        }
        try declare(header.size, display: display)
        metadata.removeAll(keepingCapacity: true)
        metadataName = display
        try startBody(size: header.size, sink: .metadata(kind))
    }

    private mutating func entryHeader(_ header: TarHeader, path: [UInt8], display: String) throws(TarballError) {
        metadataInARow = 0
        entries += 1
        guard entries <= limits.maxEntries else { throw .tooManyEntries(entry: display, limit: limits.maxEntries) }

        if let problem = EntryPath.problem(path) { throw .forbiddenEntry(entry: display, reason: problem) }
        guard UTF8Scalars.isValid(path) else { throw .badHeader(entry: display, reason: "the name is not valid UTF-8") }
        // Readers that drop the override fall back to the header's own name: it must be as safe.
        if pending.path != nil, let problem = EntryPath.problem(header.headerPath) {
            throw .forbiddenEntry(entry: DisplayName.make(header.headerPath), reason: "\(problem) (the header name under the long name \"\(display)\")")
        }
        let slash = UInt8(ascii: "/")
        // Node treats a regular file named `…/` as a directory and forces its size to 0.
        let looksLikeDirectory = path.last == slash || (pending.pathFromPax && !path.allSatisfy { $0 < 0x80 } && header.headerPath.last == slash)
        let isDirectory = header.typeflag == UInt8(ascii: "5") || looksLikeDirectory
        pending = Overrides()

        if isDirectory {
            guard header.size == 0 else { throw .badHeader(entry: display, reason: "a directory with \(header.size) bytes of data") }
            if EntryPath.isPackageJSON(path) { packageJSON = nil }
            return
        }
        if EntryPath.isPackageRoot(path) { throw .forbiddenEntry(entry: display, reason: "a file in place of the package directory") }
        try declare(header.size, display: display)
        fileBytes += header.size
        if EntryPath.isPackageJSON(path) {
            guard header.size <= Int64(limits.maxPackageJSONBytes) else {
                throw .forbiddenEntry(entry: display, reason: "package.json is larger than \(limits.maxPackageJSONBytes) bytes")
            }
            packageJSONBuffer = []
            packageJSONBuffer.reserveCapacity(Int(header.size))
            try startBody(size: header.size, sink: .packageJSON)
        } else {
            try startBody(size: header.size, sink: .discard)
        }
    }

    /// Adds to the declared total; refused from the header, before any of the data is read.
    private mutating func declare(_ size: Int64, display: String) throws(TarballError) {
        guard size <= limits.maxUnpackedBytes - declaredBytes else {
            throw .tooLarge(entry: display, limit: limits.maxUnpackedBytes)
        }
        declaredBytes += size
    }

    private mutating func startBody(size: Int64, sink: Sink) throws(TarballError) {
        let padding = Int((Int64(TarHeader.blockSize) - size % Int64(TarHeader.blockSize)) % Int64(TarHeader.blockSize))
        if size == 0 {
            try endOfBody(sink)
        } else {
            state = .body(remaining: size, padding: padding, sink: sink)
        }
    }

    // MARK: - Bodies

    private mutating func deliver(_ bytes: UnsafeRawBufferPointer, to sink: Sink) {
        switch sink {
        case .discard: break
        case .packageJSON: packageJSONBuffer.append(contentsOf: bytes)
        case .metadata: metadata.append(contentsOf: bytes)
        }
    }

    private mutating func endOfBody(_ sink: Sink) throws(TarballError) {
        switch sink {
        case .discard:
            break
        case .packageJSON:
            packageJSON = packageJSONBuffer
            packageJSONBuffer = []
        case .metadata(let kind):
            try applyMetadata(kind)
        }
    }

    private mutating func applyMetadata(_ kind: MetadataKind) throws(TarballError) {
        switch kind {
        case .pax, .globalPax:
            let records: PaxRecords
            do {
                records = try PaxRecords.parse(metadata)
            } catch {
                throw .badHeader(entry: metadataName, reason: error.reason)
            }
            if kind == .globalPax {
                if records.path != nil { throw .badHeader(entry: metadataName, reason: "a global pax header sets a path") }
                global.linkpath = records.linkpath ?? global.linkpath
                global.size = records.size ?? global.size
                global.sparse = global.sparse || records.sparse
            } else {
                if let path = records.path {
                    pending.path = path
                    pending.pathFromPax = true
                }
                pending.linkpath = records.linkpath ?? pending.linkpath
                pending.size = records.size ?? pending.size
                pending.sparse = pending.sparse || records.sparse
            }
        case .longName, .longLink:
            // GNU tar ends the name with NULs; a NUL before other bytes is a NUL inside the name.
            var name = metadata[...]
            while name.last == 0 { name = name.dropLast() }
            guard !name.isEmpty else { throw .badHeader(entry: metadataName, reason: "an empty GNU long name") }
            if kind == .longName {
                pending.path = Array(name)
                pending.pathFromPax = false
            } else {
                pending.linkpath = Array(name)
            }
        }
        metadata = []
    }
}
