import Foundation
import GRDB

/// The registry cache in the state database (table `registryCache`, one row): the last good document as
/// upstream sent it, with its validators, and the last failure. It is what a restarted plugind serves.
public struct RegistryCacheStore: Sendable {
    public struct Record: Sendable, Equatable, SingleRowRecord {
        public static let databaseTableName = "registryCache"

        public var document: Data?
        public var url: String?
        public var fetchedAt: Date?
        public var etag: String?
        public var lastModified: String?
        public var lastError: String?
        public var lastErrorAt: Date?

        enum CodingKeys: String, CodingKey {
            case document, url, fetchedAt, etag, lastModified, lastError, lastErrorAt
        }

        /// The columns writes set (GRDB's name for them, hence public).
        public enum Columns {
            static let document = Column(CodingKeys.document)
            static let format = Column("format")
            static let url = Column(CodingKeys.url)
            static let fetchedAt = Column(CodingKeys.fetchedAt)
            static let etag = Column(CodingKeys.etag)
            static let lastModified = Column(CodingKeys.lastModified)
            static let lastError = Column(CodingKeys.lastError)
            static let lastErrorAt = Column(CodingKeys.lastErrorAt)
        }
    }

    typealias Columns = Record.Columns
    let table: SingleRowTable<Record>

    public init(db: StateDB) {
        self.table = SingleRowTable(db: db)
    }

    /// Hands back the memory SQLite kept from writing or reading the document: each connection's page cache keeps up
    /// to 2 MB of its pages, of a document the registry reads once per refresh.
    public func releaseMemory() {
        table.db.pool.releaseMemory()
    }

    public func load() throws -> Record? {
        try table.load()
    }

    /// When the stored document was last confirmed, without reading the document.
    public func fetchedAt() throws -> Date? {
        try table.value(Columns.fetchedAt, as: Double.self, where: Columns.document != nil).map(Date.init(timeIntervalSince1970:))
    }

    /// A new document replaces the old one and clears the last failure. `url` served it; `fetchedAt` is
    /// when, with the validators it came with.
    public func save(document: Data, format: String, url: String, fetchedAt: Date, etag: String?, lastModified: String?) throws {
        try table.set([
            Columns.document.set(to: document), Columns.format.set(to: format), Columns.url.set(to: url),
            Columns.fetchedAt.set(to: fetchedAt.timeIntervalSince1970), Columns.etag.set(to: etag),
            Columns.lastModified.set(to: lastModified), Columns.lastError.set(to: nil), Columns.lastErrorAt.set(to: nil),
        ])
    }

    /// Upstream answered `304 Not Modified`: the stored document is fresh again, if `url` is still the one that served it.
    public func confirm(url: String, fetchedAt: Date, etag: String?, lastModified: String?) throws {
        try table.set(
            [
                Columns.fetchedAt.set(to: fetchedAt.timeIntervalSince1970), Columns.etag.set(to: etag),
                Columns.lastModified.set(to: lastModified), Columns.lastError.set(to: nil), Columns.lastErrorAt.set(to: nil),
            ], where: Columns.url == url)
    }

    public func recordFailure(_ message: String, at date: Date) throws {
        try table.set([Columns.lastError.set(to: message), Columns.lastErrorAt.set(to: date.timeIntervalSince1970)])
    }
}
