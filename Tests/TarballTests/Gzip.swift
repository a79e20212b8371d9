import CZlib

/// Compresses for the tests through zlib's own deflate (gzip wrapper), in chunks so that
/// hundreds of MiB of zeros never sit in memory.
final class GzipWriter {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private(set) var output: [UInt8] = []

    init(level: Int32 = 6) {
        stream.initialize(to: z_stream())
        let status = plugind_deflate_init2(stream, level, 15 + 16)
        precondition(status == Z_OK)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func write(_ bytes: [UInt8]) {
        run(bytes, flush: Z_NO_FLUSH)
    }

    func finish() -> [UInt8] {
        run([], flush: Z_FINISH)
        return output
    }

    private func run(_ bytes: [UInt8], flush: Int32) {
        var input = bytes
        input.withUnsafeMutableBufferPointer { buffer in
            stream.pointee.next_in = buffer.baseAddress
            stream.pointee.avail_in = uInt(buffer.count)
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = uInt(out.count)
                    let status = deflate(stream, flush)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                output += chunk[0..<produced]
                if flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                    break
                }
                precondition(status == Z_OK || status == Z_BUF_ERROR)
            }
            stream.pointee.next_in = nil
        }
    }
}

/// One gzip member holding `bytes`.
func gzip(_ bytes: [UInt8]) -> [UInt8] {
    let writer = GzipWriter()
    writer.write(bytes)
    return writer.finish()
}
