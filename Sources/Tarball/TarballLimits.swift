/// What an npm tarball may hold before plugind refuses it.
public struct TarballLimits: Sendable, Equatable {
    /// Files and directories (pax and GNU long-name records are not entries).
    public var maxEntries: Int
    /// The sum of every declared size in the archive, checked from the headers before any data is read.
    public var maxUnpackedBytes: Int64
    /// `package/package.json` is kept in memory for the caller, so it is capped.
    public var maxPackageJSONBytes: Int

    public init(maxEntries: Int = 10_000, maxUnpackedBytes: Int64 = 200 << 20, maxPackageJSONBytes: Int = 1 << 20) {
        self.maxEntries = maxEntries
        self.maxUnpackedBytes = maxUnpackedBytes
        self.maxPackageJSONBytes = maxPackageJSONBytes
    }
}
