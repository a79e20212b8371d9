import Glibc

/// Writes a large answer as FastCGI `FCGI_STDOUT` records straight onto the connection.
///
/// libfcgi's output stream copies everything into an 8 KiB buffer and writes one record per buffer: a
/// 270 KB plugin list took 34 `write(2)`s, each a copy into libfcgi's buffer and one into the kernel.
/// Here the head and the body go out in records of up to 64 KiB, gathered by `writev(2)` from where
/// they already are. The records that end the request (the empty `FCGI_STDOUT` and
/// `FCGI_END_REQUEST`) are still libfcgi's, written when its streams close: its output buffer holds
/// nothing then, so they follow these records. An answer that fits libfcgi's buffer stays with
/// libfcgi, which writes it and the closing records in one call.
enum StdoutRecords {
    /// Answers up to this size (head and body) go through libfcgi's buffer (8 KiB, less its record
    /// header and the closing records).
    static let bufferedLimit = 8_000
    /// The largest content of one record, kept a multiple of 8 so no record needs padding.
    static let maxContent = 65528
    /// FCGI_STDOUT.
    static let stdoutType: UInt8 = 6
    /// IOV_MAX on Linux: the most pieces one `writev` takes.
    static let maxPieces = 1024

    /// Answers above this size ask for a send buffer that holds them whole.
    static let roomyAbove = 128 << 10

    /// false when the connection failed (the web server or its client went away).
    static func send(head: [UInt8], body: [UInt8], requestId: UInt16, to fd: Int32) -> Bool {
        let total = head.count + body.count
        guard total > 0 else { return true }
        if total > roomyAbove { makeRoom(total + total / 8, on: fd) }
        let records = (total + maxContent - 1) / maxContent
        func length(of record: Int) -> Int { min(maxContent, total - record * maxContent) }
        var headers: [UInt8] = []
        headers.reserveCapacity(records * 8)
        for record in 0..<records {
            headers += FastCGIRecords.header(type: stdoutType, requestId: requestId, contentLength: length(of: record))
        }
        return headers.withUnsafeBytes { headerBytes in
            head.withUnsafeBytes { headBytes in
                body.withUnsafeBytes { bodyBytes in
                    // Each record: its header, then its share of the head and of the body.
                    var pieces: [iovec] = []
                    pieces.reserveCapacity(records * 3)
                    var taken = 0
                    for record in 0..<records {
                        pieces.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: headerBytes.baseAddress! + record * 8), iov_len: 8))
                        var room = length(of: record)
                        if taken < headBytes.count {
                            let n = min(room, headBytes.count - taken)
                            pieces.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: headBytes.baseAddress! + taken), iov_len: n))
                            taken += n
                            room -= n
                        }
                        if room > 0 {
                            let from = taken - headBytes.count
                            pieces.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bodyBytes.baseAddress! + from), iov_len: room))
                            taken += room
                        }
                    }
                    return writeAll(&pieces, to: fd)
                }
            }
        }
    }

    /// Asks for a send buffer of `bytes` on this connection (the kernel caps it at `net.core.wmem_max`).
    /// A unix socket's default (`net.core.wmem_default`, 208 KiB on Debian) is smaller than a plugin
    /// list or a registry page: the worker then waits in `writev` until the web server has read part
    /// of the answer, and under load that wait was where most workers were. With room for the whole
    /// answer the kernel holds it and the worker takes the next request.
    private static func makeRoom(_ bytes: Int, on fd: Int32) {
        var size = Int32(clamping: bytes)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// `writev` until every piece is written, resuming after a partial write.
    private static func writeAll(_ pieces: inout [iovec], to fd: Int32) -> Bool {
        var first = 0
        while first < pieces.count {
            let count = min(pieces.count - first, maxPieces)
            let written = pieces.withUnsafeBufferPointer { writev(fd, $0.baseAddress! + first, Int32(count)) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            var left = written
            while first < pieces.count && left >= pieces[first].iov_len {
                left -= pieces[first].iov_len
                first += 1
            }
            if left > 0 {
                pieces[first].iov_base = pieces[first].iov_base! + left
                pieces[first].iov_len -= left
            }
        }
        return true
    }
}
