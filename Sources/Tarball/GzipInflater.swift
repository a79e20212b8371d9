import CZlib

/// Inflates a gzip stream of one or more members, fed compressed chunks of any size, handing
/// out decompressed chunks of at most 64 KiB: constant memory whatever the compression ratio.
final class GzipInflater {
    private enum State {
        /// Waiting for the two magic bytes of a member; `afterMember` once one has ended.
        case magic(seen: Int, afterMember: Bool)
        case inMember
        /// Everything from here on is ignored.
        case stopped
    }

    static let outputSize = 64 << 10
    private static let magic: [UInt8] = [0x1F, 0x8B]

    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var initialised = false
    private var state = State.magic(seen: 0, afterMember: false)
    /// Once the tar inside has ended, bytes after a member are trailing garbage, not an error.
    var ignoresTrailingData = false

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: Self.outputSize, alignment: 16)
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Nothing more will be read: the caller may stop feeding.
    var isStopped: Bool {
        if case .stopped = state { return true }
        return false
    }

    /// Ignores all further input.
    func stop() {
        state = .stopped
    }

    /// Inflates `input`, calling `body` with each decompressed chunk (valid only during the call).
    func feed(
        _ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(TarballError) -> Void
    ) throws(TarballError) {
        var index = 0
        while index < input.count {
            switch state {
            case .stopped:
                return
            case .magic(let seen, let afterMember):
                if input[index] != Self.magic[seen] {
                    if !afterMember { throw .notGzip }
                    guard ignoresTrailingData else {
                        throw .corruptGzip("data after a gzip member is not another gzip member")
                    }
                    state = .stopped
                    return
                }
                index += 1
                if seen == 0 {
                    state = .magic(seen: 1, afterMember: afterMember)
                } else {
                    try startMember()
                    // zlib parses the whole gzip header, magic included.
                    _ = try Self.magic.withUnsafeBytes { magic in
                        Result { () throws(TarballError) in try inflate(magic, body) }
                    }.get()
                }
            case .inMember:
                index += try inflate(UnsafeRawBufferPointer(rebasing: input[index...]), body)
            }
        }
    }

    /// The input is over: it must end between members.
    func finish() throws(TarballError) {
        switch state {
        case .stopped, .magic(seen: 0, afterMember: true):
            return
        case .magic(seen: 0, afterMember: false):
            throw .notGzip
        case .magic(_, let afterMember):
            if afterMember && ignoresTrailingData { return }
            throw .truncated
        case .inMember:
            throw .truncated
        }
    }

    private func startMember() throws(TarballError) {
        let status = initialised ? inflateReset(stream) : plugind_inflate_init2(stream, 15 + 16)
        guard status == Z_OK else { throw .corruptGzip("zlib could not start inflating (\(status))") }
        initialised = true
        state = .inMember
    }

    /// Inflates until `input` is used up or the member ends; returns the bytes consumed.
    private func inflate(
        _ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(TarballError) -> Void
    ) throws(TarballError) -> Int {
        guard let base = input.baseAddress, input.count > 0 else { return 0 }
        // zlib never writes through next_in; the type is mutable for historical reasons.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.pointee.avail_out)
            let consumed = input.count - Int(stream.pointee.avail_in)
            switch status {
            case Z_OK, Z_BUF_ERROR, Z_STREAM_END:
                break
            case Z_NEED_DICT:
                throw .corruptGzip("a preset dictionary is required")
            case Z_MEM_ERROR:
                throw .corruptGzip("zlib ran out of memory")
            default:
                throw .corruptGzip(stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)")
            }
            if produced > 0 {
                try body(UnsafeRawBufferPointer(start: output.baseAddress, count: produced))
                if isStopped { return input.count }
            }
            if status == Z_STREAM_END {
                state = .magic(seen: 0, afterMember: true)
                return consumed
            }
            // Output space left over means zlib has used all the input it can.
            if stream.pointee.avail_out > 0 { return consumed }
        }
    }
}
