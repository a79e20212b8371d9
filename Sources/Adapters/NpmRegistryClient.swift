import Foundation
import JSON

/// The npm registry, spoken to the way npm does: packuments at `<base>/<name with / as %2f>`
/// (the base may carry a path prefix), signing keys at `<base>/-/npm/v1/keys`, tarballs by URL.
public struct NpmRegistryClient: Sendable {
    public let base: String
    let token: String?
    /// Clients of private scopes' registries, by `@scope`.
    let scopes: [String: NpmRegistryClient]
    /// A scope's registry: its tarballs must be its own too (its token goes nowhere else).
    let tarballsOnOwnOrigin: Bool
    let metadata: HTTPClient
    let tarballs: HTTPClient

    /// One registry, without private scopes. `redirectOrigins`: where the registry's redirects may lead besides its
    /// own origin (nil: anywhere https).
    private init(
        base: String, token: String?, connectTimeoutMs: Int, fetchTimeoutMs: Int, tarballTimeoutMs: Int, tarballIdleMs: Int, caFile: String?,
        redirectOrigins: [String]? = nil
    ) {
        self.base = base.hasSuffix("/") ? base : base + "/"
        self.token = token
        self.scopes = [:]
        self.tarballsOnOwnOrigin = false
        let own = base
        let allowed = redirectOrigins.map { Set($0 + [own]) }
        metadata = HTTPClient(configuration: .init(
            connectTimeout: .milliseconds(connectTimeoutMs), totalTimeout: .milliseconds(fetchTimeoutMs),
            idleTimeout: .milliseconds(fetchTimeoutMs), maxResponseBytes: 64 << 20, caFile: caFile, userAgent: "plugind (npm-compatible)",
            redirectOrigins: allowed))
        tarballs = HTTPClient(configuration: .init(
            connectTimeout: .milliseconds(connectTimeoutMs), totalTimeout: .milliseconds(tarballTimeoutMs),
            idleTimeout: .milliseconds(tarballIdleMs), maxResponseBytes: 200 << 20, caFile: caFile, userAgent: "plugind (npm-compatible)",
            redirectOrigins: allowed))
    }

    public init(_ configuration: NpmRegistryConfiguration) {
        self.init(
            base: configuration.base, token: configuration.token, connectTimeoutMs: configuration.connectTimeoutMs,
            fetchTimeoutMs: configuration.fetchTimeoutMs, tarballTimeoutMs: configuration.tarballTimeoutMs,
            tarballIdleMs: configuration.tarballIdleMs, caFile: configuration.caFile, redirectOrigins: configuration.redirectOrigins)
        var scoped: [String: NpmRegistryClient] = [:]
        for (scope, registry) in configuration.scopes {
            var client = NpmRegistryClient(
                base: registry.registry, token: registry.token, connectTimeoutMs: configuration.connectTimeoutMs,
                fetchTimeoutMs: configuration.fetchTimeoutMs, tarballTimeoutMs: configuration.tarballTimeoutMs,
                tarballIdleMs: configuration.tarballIdleMs, caFile: configuration.caFile, redirectOrigins: [])
            client = NpmRegistryClient(copy: client, scopes: [:], tarballsOnOwnOrigin: true)
            scoped[scope] = client
        }
        self = NpmRegistryClient(copy: self, scopes: scoped, tarballsOnOwnOrigin: false)
    }

    private init(copy: NpmRegistryClient, scopes: [String: NpmRegistryClient], tarballsOnOwnOrigin: Bool) {
        base = copy.base
        token = copy.token
        metadata = copy.metadata
        tarballs = copy.tarballs
        self.scopes = scopes
        self.tarballsOnOwnOrigin = tarballsOnOwnOrigin
    }

    /// The registry a package comes from: its scope's, when the scope is a private one; else this one. A private
    /// scope's packages never come from anywhere else, so a public package cannot stand in for one.
    public func client(for name: String) -> NpmRegistryClient {
        guard name.hasPrefix("@"), let slash = name.firstIndex(of: "/"), let scoped = scopes[String(name[..<slash])] else { return self }
        return scoped
    }

    /// `@scope/name` → `@scope%2fname`, as npm requests it.
    static func escapedName(_ name: String) -> String {
        name.replacingOccurrences(of: "/", with: "%2f")
    }

    func headers(for url: String) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        // The token goes only to the registry itself, never to a tarball host elsewhere.
        if let token, url.hasPrefix(base) { headers.append(("Authorization", "Bearer \(token)")) }
        return headers
    }

    /// The packument, from the registry the package comes from (`client(for:)`).
    public func packument(_ name: String, timeoutMs: Int) throws(NpmRegistryError) -> Packument {
        try client(for: name).fetchPackument(name, timeoutMs: timeoutMs)
    }

    private func fetchPackument(_ name: String, timeoutMs: Int) throws(NpmRegistryError) -> Packument {
        let url = base + Self.escapedName(name)
        let response = try send(metadata.limited(timeoutMs), url: url, what: "the packument of \(name)")
        switch response.status {
        case 200:
            guard let document = try? JSONParser.parse(response.body, maxDepth: 128) else {
                throw .upstream("The npm registry sent a packument for \(name) that is not JSON.")
            }
            return try Packument(json: document)
        case 404: throw .notFound("The npm registry has no package named \(name).")
        default: throw .upstream("The npm registry answered \(response.status) for \(name).")
        }
    }

    /// The registry's signing keys; nil when it has no keys endpoint (404). `what` is the package whose signature
    /// needs them, for the error.
    public func signingKeys(for what: String, timeoutMs: Int) throws(NpmRegistryError) -> [SigningKey]? {
        let response = try send(metadata.limited(timeoutMs), url: base + "-/npm/v1/keys", what: "the registry's signing keys")
        if response.status == 404 { return nil }
        guard response.status == 200, let document = try? JSONParser.parse(response.body, maxDepth: 16),
            let keys = document["keys"]?.arrayValue
        else { throw .upstream("The npm registry's keys endpoint answered \(response.status), so the signature of \(what) cannot be checked.") }
        return keys.compactMap(SigningKey.init)
    }

    /// Streams the tarball of `what` (`name@version`) to `path`, reporting progress (0…1 when the size is known).
    public func download(_ url: String, of what: String, to path: String, timeoutMs: Int, progress: @escaping (Double?) -> Void) throws(NpmRegistryError) {
        if tarballsOnOwnOrigin, HTTPClient.origin(of: url) != HTTPClient.origin(of: base) {
            throw .refused("The tarball URL of \(what), \(SecretScrubber().scrub(url)), is not on its private scope's registry \(base); plugind fetches that scope from nowhere else.")
        }
        guard url.hasPrefix("https://") || (url.hasPrefix("http://") && Loopback.isLoopback(url: url)) else {
            throw .refused("The tarball URL of \(what), \(SecretScrubber().scrub(url)), is not https.")
        }
        let response: HTTPClientResponse
        do {
            response = try tarballs.limited(timeoutMs).download(HTTPClientRequest(url: url, headers: headers(for: url)), toFile: path) { p in
                progress(p.expectedBytes.map { Double(p.receivedBytes) / Double(max(1, $0)) })
            }
        } catch {
            throw Self.map(error, what: "the tarball of \(what)")
        }
        guard response.status == 200 else { throw .upstream("Downloading the tarball of \(what) answered \(response.status).") }
    }

    private func send(_ client: HTTPClient, url: String, what: String) throws(NpmRegistryError) -> HTTPClientResponse {
        do {
            return try client.send(HTTPClientRequest(url: url, headers: headers(for: url)))
        } catch {
            throw Self.map(error, what: what)
        }
    }

    static func map(_ error: HTTPClientError, what: String) -> NpmRegistryError {
        switch error {
        case .timedOut: .timedOut("The npm registry did not deliver \(what) in time; check npmRegistry, timeouts.fetchMs or the network.")
        case .tooLarge(let limit): .refused("\(what.prefix(1).uppercased() + what.dropFirst()) is larger than \(limit) bytes.")
        default:
            .upstream("The npm registry could not be reached for \(what) (\(error.description.prefix(120))); check npmRegistry (or npmScopes) or the network.")
        }
    }

}

extension HTTPClient {
    /// The same client with its total time cut to what the operation has left.
    func limited(_ timeoutMs: Int) -> HTTPClient {
        var configuration = self.configuration
        configuration.totalTimeout = min(configuration.totalTimeout, .milliseconds(max(1, timeoutMs)))
        return HTTPClient(configuration: configuration)
    }
}

/// One key of the registry's `/-/npm/v1/keys`.
public struct SigningKey: Sendable {
    public let keyid: String
    /// base64 of the SPKI DER public key.
    public let key: String
    public let expires: String?
    public let scheme: String?

    init?(_ json: JSONValue) {
        guard let keyid = json["keyid"]?.stringValue, let key = json["key"]?.stringValue else { return nil }
        self.keyid = keyid
        self.key = key
        self.expires = json["expires"]?.stringValue
        self.scheme = json["scheme"]?.stringValue
    }
}
