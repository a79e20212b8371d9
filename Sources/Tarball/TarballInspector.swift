#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inspects an npm tarball before npm sees it: gzip (concatenated members allowed) + ustar, pax
/// (`x`, `g`) and GNU long names (`L`, `K`), streamed in constant memory.
///
/// Refused, naming the entry: absolute paths, `..` components, anything whose first component is
/// not `package` (after leading `./`), links, devices, FIFOs, sparse and unknown entry types, more
/// entries or declared bytes than the limits (from the headers, before reading data), bad
/// checksums or numbers, NULs in names, and every header npm's extractor (Node's tar) would read
/// differently from this reader. A missing end marker is tolerated; anything after it is ignored.
public enum TarballInspector {
    static let readSize = 64 << 10

    /// Reads the file at `path` in 64 KiB chunks; stops early once the archive has ended.
    public static func inspect(path: String, limits: TarballLimits = TarballLimits()) throws(TarballError) -> TarballSummary {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open \(path): \(errnoDescription())") }
        defer { close(fd) }
        let stream = TarballStream(limits: limits)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 16)
        defer { buffer.deallocate() }
        while !stream.isComplete {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw .io("read \(path): \(errnoDescription())")
            }
            if count == 0 { break }
            try stream.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return try stream.finish()
    }

    /// Inspects bytes arriving as chunks of any size (tests feed 1 byte at a time, random batches, or whole).
    public static func inspect<Chunks: Sequence>(
        chunks: Chunks, limits: TarballLimits = TarballLimits()
    ) throws(TarballError) -> TarballSummary where Chunks.Element: Collection<UInt8> {
        let stream = TarballStream(limits: limits)
        for chunk in chunks {
            if stream.isComplete { break }
            try stream.feed(chunk)
        }
        return try stream.finish()
    }

    private static func errnoDescription() -> String {
        String(cString: strerror(errno))
    }
}
