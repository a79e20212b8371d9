import Foundation
import GRDB

/// The registry cache in the state database (table `registryCache`, one row): the last good document as
/// upstream sent it, with its validators, and the last failure. It is what a restarted plugind serves.
public struct RegistryCacheStore: Sendable {
    public struct Record: Sendable {
        public var document: [UInt8]?
        public var url: String?
        public var fetchedAt: Date?
        public var etag: String?
        public var lastModified: String?
        public var lastError: String?
        public var lastErrorAt: Date?
    }

    let db: StateDB

    public init(db: StateDB) {
        self.db = db
    }

    public func load() throws -> Record? {
        try db.pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM registryCache WHERE id = 1") else { return nil }
            let document: Data? = row["document"]
            let fetchedAt: Double? = row["fetchedAt"]
            let lastErrorAt: Double? = row["lastErrorAt"]
            return Record(
                document: document.map { [UInt8]($0) }, url: row["url"], fetchedAt: fetchedAt.map(Date.init(timeIntervalSince1970:)),
                etag: row["etag"], lastModified: row["lastModified"], lastError: row["lastError"],
                lastErrorAt: lastErrorAt.map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// When the stored document was last confirmed, without reading the document.
    public func fetchedAt() throws -> Date? {
        try db.pool.read { db in
            try Double.fetchOne(db, sql: "SELECT fetchedAt FROM registryCache WHERE id = 1 AND document IS NOT NULL")
        }.map(Date.init(timeIntervalSince1970:))
    }

    /// A new document replaces the old one and clears the last failure.
    /// `url` served the document; `fetchedAt` is when, with the validators it came with.
    public func save(
        document: [UInt8], format: String, url: String, fetchedAt: Date, etag: String?, lastModified: String?
    ) throws {
        try db.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO registryCache (id, document, format, url, fetchedAt, etag, lastModified, lastError, lastErrorAt)
                    VALUES (1, ?, ?, ?, ?, ?, ?, NULL, NULL)
                    ON CONFLICT(id) DO UPDATE SET document = excluded.document, format = excluded.format, url = excluded.url,
                        fetchedAt = excluded.fetchedAt, etag = excluded.etag, lastModified = excluded.lastModified,
                        lastError = NULL, lastErrorAt = NULL
                    """,
                arguments: [Data(document), format, url, fetchedAt.timeIntervalSince1970, etag, lastModified])
        }
    }

    /// Upstream answered `304 Not Modified`: the stored document is fresh again, if `url` is still the one that served it.
    public func confirm(url: String, fetchedAt: Date, etag: String?, lastModified: String?) throws {
        try db.pool.write { db in
            try db.execute(
                sql: """
                    UPDATE registryCache SET fetchedAt = ?, etag = ?, lastModified = ?, lastError = NULL, lastErrorAt = NULL
                    WHERE id = 1 AND url = ?
                    """,
                arguments: [fetchedAt.timeIntervalSince1970, etag, lastModified, url])
        }
    }

    public func recordFailure(_ message: String, at date: Date) throws {
        try db.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO registryCache (id, lastError, lastErrorAt) VALUES (1, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET lastError = excluded.lastError, lastErrorAt = excluded.lastErrorAt
                    """,
                arguments: [message, date.timeIntervalSince1970])
        }
    }
}
