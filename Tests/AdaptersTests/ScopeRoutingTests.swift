import Testing
@testable import Adapters

/// `npmScopes`: a private scope's packages come from its own registry, and its tarballs too.
@Suite struct ScopeRoutingTests {
    func client() -> NpmRegistryClient {
        var configuration = NpmRegistryConfiguration(
            base: "https://registry.npmjs.org/", token: "public-token", connectTimeoutMs: 1000, fetchTimeoutMs: 1000, tarballTimeoutMs: 1000,
            tarballIdleMs: 1000, caFile: nil, redirectOrigins: nil)
        configuration.scopes["@acme"] = .init(registry: "https://npm.acme.example/private", token: "acme-token")
        return NpmRegistryClient(configuration)
    }

    @Test func aPrivateScopeHasItsOwnRegistryAndToken() {
        let registry = client()
        #expect(registry.client(for: "@acme/plugin-x").base == "https://npm.acme.example/private/")
        #expect(registry.client(for: "@acme/plugin-x").token == "acme-token")
        #expect(registry.client(for: "@acmecorp/plugin-x").base == "https://registry.npmjs.org/")
        #expect(registry.client(for: "acme").base == "https://registry.npmjs.org/")
        #expect(registry.client(for: "@other/x").token == "public-token")
    }

    /// Its token goes nowhere else: a tarball a private scope's packument points elsewhere is refused before any request.
    @Test func aPrivateScopesTarballMustBeOnItsRegistry() {
        let scoped = client().client(for: "@acme/plugin-x")
        do {
            try scoped.download("https://elsewhere.example/x.tgz", of: "@private/x@1.0.0", to: "/nonexistent/x.tgz", timeoutMs: 1000) { _ in }
            Issue.record("a tarball elsewhere was fetched")
        } catch {
            guard case .refused(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("private scope"))
        }
    }
}
