import Foundation
import Stores

/// The cache stores plain values; the service speaks of a snapshot's source.
extension RegistryCacheStore {
    func save(document: [UInt8], format: String, source: RegistrySource) throws {
        try save(
            document: Data(document), format: format, url: source.url, fetchedAt: source.fetchedAt, etag: source.etag,
            lastModified: source.lastModified)
    }

    func confirm(_ source: RegistrySource) throws {
        try confirm(url: source.url, fetchedAt: source.fetchedAt, etag: source.etag, lastModified: source.lastModified)
    }
}
