import Foundation
import Logging

/// plugind's own catalogue in the generated-registry shape (`{lastUpdatedAt, registry: {<npm name>: entry}}`), with
/// its own descriptions: what the registry answers from until an upstream copy exists.
public struct BundledRegistry: Sendable {
    /// Where the document comes from (the catalogue file), shown as `source.url`.
    public var origin: String
    /// The document's bytes.
    public var document: [UInt8]

    public init(origin: String, document: [UInt8]) {
        self.origin = origin
        self.document = document
    }
}

extension RegistryService {
    /// The bundled document, read by the same parser as upstream's (so `compatible` is computed the same way).
    static func bundledSnapshot(_ bundled: BundledRegistry, parser: RegistryDocumentParser, at time: Date, logger: Logger) -> RegistrySnapshot? {
        do {
            let document = try parser.parse(bundled.document)
            guard !document.entries.isEmpty else { return nil }
            return RegistrySnapshot(
                catalog: RegistryCatalog(document: document), source: RegistrySource(url: bundled.origin, fetchedAt: time), isBundled: true)
        } catch {
            logger.error("registry: the bundled catalogue does not read as a registry (\(error)); without upstream the registry answers 503")
            return nil
        }
    }

    /// With no upstream copy: the bundled snapshot, else `noSnapshot` with what failed.
    func bundledOr(_ failure: UpstreamFailure) throws(RegistryError) -> RegistrySnapshot {
        if let bundled { return bundled }
        throw .noSnapshot(failure)
    }
}
