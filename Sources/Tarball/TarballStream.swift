/// The push form of the inspector: feed the compressed bytes in chunks of any size (as they are
/// downloaded, or read from disk), then `finish()`. After an error every call rethrows it.
public final class TarballStream {
    /// Past the end marker only the rest of the current gzip member is inflated (to check its
    /// CRC), and no more than this: the padding real writers add is a few KiB.
    static let maxBytesAfterEnd: Int64 = 1 << 20

    private let inflater = GzipInflater()
    private var reader: TarReader
    private var failure: TarballError?

    public init(limits: TarballLimits = TarballLimits()) {
        reader = TarReader(limits: limits)
    }

    /// True once the archive has ended and the rest of the input would be ignored.
    public var isComplete: Bool { inflater.isStopped }

    public func feed(_ bytes: UnsafeRawBufferPointer) throws(TarballError) {
        if let failure { throw failure }
        do {
            try inflater.feed(bytes) { (chunk) throws(TarballError) in
                try self.reader.consume(chunk)
                if self.reader.hasEnded {
                    self.inflater.ignoresTrailingData = true
                    if self.reader.bytesAfterEnd > Self.maxBytesAfterEnd { self.inflater.stop() }
                }
            }
        } catch {
            failure = error
            throw error
        }
    }

    public func feed(_ bytes: some Collection<UInt8>) throws(TarballError) {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(TarballError) in try feed(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        try copy.withUnsafeBytes { buffer in Result { () throws(TarballError) in try feed(buffer) } }.get()
    }

    /// The input is over: checks that neither the gzip stream nor a tar entry was cut short.
    public func finish() throws(TarballError) -> TarballSummary {
        if let failure { throw failure }
        do {
            try inflater.finish()
            return try reader.finish()
        } catch {
            failure = error
            throw error
        }
    }
}

@available(*, unavailable)
extension TarballStream: Sendable {}
