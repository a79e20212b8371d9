/// What an accepted tarball holds.
public struct TarballSummary: Sendable, Equatable {
    /// Files and directories.
    public let entries: Int
    /// The sum of the regular files' sizes.
    public let unpackedBytes: Int64
    /// The bytes of the `package/package.json` npm will read (the last one, as extraction overwrites), if any.
    public let packageJSON: [UInt8]?

    public init(entries: Int, unpackedBytes: Int64, packageJSON: [UInt8]?) {
        self.entries = entries
        self.unpackedBytes = unpackedBytes
        self.packageJSON = packageJSON
    }
}
