import Foundation
import Testing
@testable import Stores

@Suite struct RegistryCacheStoreTests {
    let store: RegistryCacheStore
    let t1 = Date(timeIntervalSince1970: 1_770_000_000.25)
    let t2 = Date(timeIntervalSince1970: 1_770_003_600.5)

    init() throws {
        store = RegistryCacheStore(db: try StateDB(path: temporaryDirectory() + "/state.db"))
    }

    /// Nothing stored: no record, no time.
    @Test func emptyCache() throws {
        #expect(try store.load() == nil)
        #expect(try store.fetchedAt() == nil)
        try store.confirm(url: "https://r.example/a.json", fetchedAt: t1, etag: "\"v1\"", lastModified: nil)
        #expect(try store.load() == nil)
    }

    /// A saved document reads back with its source; a failure is kept beside it and the next save clears it.
    @Test func saveAndFail() throws {
        try store.recordFailure("upstream down", at: t1)
        var record = try #require(try store.load())
        #expect(record.document == nil && record.url == nil && record.fetchedAt == nil)
        #expect(record.lastError == "upstream down" && record.lastErrorAt == t1)
        #expect(try store.fetchedAt() == nil)

        try store.save(document: Data("{}".utf8), format: "full", url: "https://r.example/a.json", fetchedAt: t1, etag: "\"v1\"", lastModified: "lm")
        record = try #require(try store.load())
        #expect(record.document == Data("{}".utf8) && record.url == "https://r.example/a.json" && record.fetchedAt == t1)
        #expect(record.etag == "\"v1\"" && record.lastModified == "lm" && record.lastError == nil && record.lastErrorAt == nil)
        #expect(try store.fetchedAt() == t1)

        try store.recordFailure("timeout", at: t2)
        record = try #require(try store.load())
        #expect(record.document == Data("{}".utf8) && record.fetchedAt == t1 && record.lastError == "timeout" && record.lastErrorAt == t2)

        try store.save(document: Data("[]".utf8), format: "index", url: "https://r.example/b.json", fetchedAt: t2, etag: nil, lastModified: nil)
        record = try #require(try store.load())
        #expect(record.document == Data("[]".utf8) && record.url == "https://r.example/b.json" && record.fetchedAt == t2)
        #expect(record.etag == nil && record.lastModified == nil && record.lastError == nil && record.lastErrorAt == nil)
    }

    /// `304 Not Modified` refreshes the stored copy only when it came from the same URL.
    @Test func confirm() throws {
        try store.save(document: Data("{}".utf8), format: "full", url: "https://r.example/a.json", fetchedAt: t1, etag: "\"v1\"", lastModified: nil)
        try store.recordFailure("timeout", at: t1)
        try store.confirm(url: "https://r.example/other.json", fetchedAt: t2, etag: "\"v2\"", lastModified: "lm")
        var record = try #require(try store.load())
        #expect(record.fetchedAt == t1 && record.etag == "\"v1\"" && record.lastError == "timeout")

        try store.confirm(url: "https://r.example/a.json", fetchedAt: t2, etag: "\"v2\"", lastModified: "lm")
        record = try #require(try store.load())
        #expect(record.document == Data("{}".utf8) && record.fetchedAt == t2 && record.etag == "\"v2\"" && record.lastModified == "lm")
        #expect(record.lastError == nil && record.lastErrorAt == nil)
        #expect(try store.fetchedAt() == t2)
    }
}
