/// Why a tarball was refused. Entry names are already sanitised for display.
public enum TarballError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input does not start with the gzip magic bytes (npm tarballs are always gzipped).
    case notGzip
    /// The input ended inside a gzip member or inside a tar entry.
    case truncated
    /// zlib refused the compressed data (bad block, bad CRC or length, stray data between members).
    case corruptGzip(String)
    /// A tar header is malformed: bad checksum, bad number, bad pax record, inconsistent fields.
    case badHeader(entry: String?, reason: String)
    /// An entry npm must never extract: absolute, `..`, outside `package/`, a link, a device, a FIFO, sparse.
    case forbiddenEntry(entry: String, reason: String)
    /// More files and directories than the limit; `entry` is the first one over it.
    case tooManyEntries(entry: String, limit: Int)
    /// The declared sizes add up to more than the limit; `entry` is the one that crossed it.
    case tooLarge(entry: String, limit: Int64)
    /// The tarball file could not be opened or read.
    case io(String)

    /// The offending entry, when there is one.
    public var entry: String? {
        switch self {
        case .badHeader(let entry, _): entry
        case .forbiddenEntry(let entry, _), .tooManyEntries(let entry, _), .tooLarge(let entry, _): entry
        case .notGzip, .truncated, .corruptGzip, .io: nil
        }
    }

    public var description: String {
        switch self {
        case .notGzip: "the tarball is not gzip-compressed"
        case .truncated: "the tarball is truncated"
        case .corruptGzip(let reason): "the tarball's gzip data is corrupt: \(reason)"
        case .badHeader(let entry?, let reason): "bad tar header at \"\(entry)\": \(reason)"
        case .badHeader(nil, let reason): "bad tar header: \(reason)"
        case .forbiddenEntry(let entry, let reason): "forbidden tarball entry \"\(entry)\": \(reason)"
        case .tooManyEntries(let entry, let limit): "the tarball has more than \(limit) entries (at \"\(entry)\")"
        case .tooLarge(let entry, let limit): "the tarball unpacks to more than \(limit) bytes (at \"\(entry)\")"
        case .io(let reason): "cannot read the tarball: \(reason)"
        }
    }
}
