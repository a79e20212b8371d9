import Foundation
import GRDB
import Stores

/// The registry cache in the state database (table `registryCache`, one row): the last good document as
/// upstream sent it, with its validators, and the last failure. It is what a restarted plugind serves.
struct RegistryCacheStore: Sendable {
    struct Record: Sendable {
        var document: [UInt8]?
        var url: String?
        var fetchedAt: Date?
        var etag: String?
        var lastModified: String?
        var lastError: String?
        var lastErrorAt: Date?
    }

    let db: StateDB

    func load() throws -> Record? {
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
    func fetchedAt() throws -> Date? {
        try db.pool.read { db in
            try Double.fetchOne(db, sql: "SELECT fetchedAt FROM registryCache WHERE id = 1 AND document IS NOT NULL")
        }.map(Date.init(timeIntervalSince1970:))
    }

    /// A new document replaces the old one and clears the last failure.
    func save(document: [UInt8], format: String, source: RegistrySource) throws {
        try db.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO registryCache (id, document, format, url, fetchedAt, etag, lastModified, lastError, lastErrorAt)
                    VALUES (1, ?, ?, ?, ?, ?, ?, NULL, NULL)
                    ON CONFLICT(id) DO UPDATE SET document = excluded.document, format = excluded.format, url = excluded.url,
                        fetchedAt = excluded.fetchedAt, etag = excluded.etag, lastModified = excluded.lastModified,
                        lastError = NULL, lastErrorAt = NULL
                    """,
                arguments: [Data(document), format, source.url, source.fetchedAt.timeIntervalSince1970, source.etag, source.lastModified])
        }
    }

    /// Upstream answered `304 Not Modified`: the stored document is fresh again.
    func confirm(_ source: RegistrySource) throws {
        try db.pool.write { db in
            try db.execute(
                sql: """
                    UPDATE registryCache SET fetchedAt = ?, etag = ?, lastModified = ?, lastError = NULL, lastErrorAt = NULL
                    WHERE id = 1 AND url = ?
                    """,
                arguments: [source.fetchedAt.timeIntervalSince1970, source.etag, source.lastModified, source.url])
        }
    }

    func recordFailure(_ message: String, at date: Date) throws {
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
