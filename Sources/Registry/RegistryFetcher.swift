import Adapters
import Foundation

/// Asks the upstream URLs in order for a registry document and returns the first one that reads.
struct RegistryFetcher: Sendable {
    /// Validators of the snapshot in hand, sent only to the URL that produced it.
    struct Conditional: Sendable {
        var url: String
        var etag: String?
        var lastModified: String?
    }

    struct Fetched: Sendable {
        var url: String
        var body: [UInt8]
        var document: RegistryDocument
        var etag: String?
        var lastModified: String?
        /// What went wrong with the URLs tried before this one.
        var earlierFailures: [String]
    }

    enum Outcome: Sendable {
        case fetched(Fetched)
        case notModified(url: String, etag: String?, lastModified: String?)
        case failed([String])
    }

    let client: HTTPClient
    let urls: [String]
    let parser: RegistryDocumentParser

    func fetch(conditional: Conditional?) -> Outcome {
        var failures: [String] = []
        for url in urls {
            var headers: [(name: String, value: String)] = [("Accept", "application/json")]
            let validators = conditional?.url == url ? conditional : nil
            if let etag = validators?.etag { headers.append(("If-None-Match", etag)) }
            if let lastModified = validators?.lastModified { headers.append(("If-Modified-Since", lastModified)) }
            let response: HTTPClientResponse
            do {
                response = try client.send(HTTPClientRequest(url: url, headers: headers))
            } catch {
                failures.append(Self.describe(url, error.description))
                continue
            }
            if response.status == 304 {
                guard validators != nil else {
                    failures.append(Self.describe(url, "304 Not Modified to an unconditional request"))
                    continue
                }
                return .notModified(url: url, etag: response.header("ETag"), lastModified: response.header("Last-Modified"))
            }
            guard response.isSuccess else {
                failures.append(Self.describe(url, "HTTP \(response.status)"))
                continue
            }
            let document: RegistryDocument
            do {
                document = try parser.parse(response.body)
            } catch {
                failures.append(Self.describe(url, error.description))
                continue
            }
            // An empty catalogue is far likelier a broken upstream than a registry that lost every plugin.
            guard !document.entries.isEmpty else {
                failures.append(Self.describe(url, "no usable entries (\(document.skipped) skipped)"))
                continue
            }
            return .fetched(
                Fetched(
                    url: url, body: response.body, document: document, etag: response.header("ETag"),
                    lastModified: response.header("Last-Modified"), earlierFailures: failures))
        }
        if urls.isEmpty { failures.append("no registry URL is configured") }
        return .failed(failures)
    }

    /// `url: reason`, the URL said once (the HTTP client's reasons repeat it).
    static func describe(_ url: String, _ reason: String) -> String {
        let reason = reason.replacingOccurrences(of: " to \(url)", with: "").replacingOccurrences(of: url, with: "it")
        return SecretScrubber().scrub("\(url): \(reason)")
    }
}
