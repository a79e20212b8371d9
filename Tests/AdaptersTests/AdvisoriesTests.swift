import Foundation
import JSON
import TestSupport
import Testing
@testable import Adapters

/// npm's bulk advisories endpoint, as `npm audit` asks it: one POST per registry with `{name: [versions]}`, and only
/// advisories whose `vulnerable_versions` take the asked version come back.
@Suite struct AdvisoriesTests {
    /// A registry that answers the bulk endpoint with `advisories` for every asked name, recording what it was asked.
    final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var asked: [(path: String, authorization: String?, body: JSONValue?)] = []
        var server: LoopbackServer!

        init(status: Int = 200, advisories: String) throws {
            server = try LoopbackServer { [unowned self] request in
                let body = try? JSONParser.parse(request.body, maxDepth: 8)
                lock.withLock { asked.append((request.path, request.header("authorization"), body)) }
                guard request.method == "POST", request.path.hasSuffix("/-/npm/v1/security/advisories/bulk") else { return .respond(status: 404) }
                return .respond(status: status, headers: [("Content-Type", "application/json")], body: Array(advisories.utf8))
            }
        }
    }

    func client(_ base: String, scope: (String, String)? = nil) -> NpmRegistryClient {
        var configuration = NpmRegistryConfiguration(
            base: base, token: "public-token", connectTimeoutMs: 2000, fetchTimeoutMs: 2000, tarballTimeoutMs: 2000, tarballIdleMs: 2000, caFile: nil,
            redirectOrigins: nil)
        if let scope { configuration.scopes[scope.0] = .init(registry: scope.1, token: "scope-token") }
        return NpmRegistryClient(configuration)
    }

    static let lodash = #"""
        {"lodash":[
          {"id":1,"url":"https://github.com/advisories/GHSA-1","title":"Prototype pollution","severity":"critical","vulnerable_versions":"<4.17.21"},
          {"id":2,"url":null,"title":"Old ReDoS","severity":"low","vulnerable_versions":"<4.0.0"},
          {"id":3,"title":"Range nobody can read","severity":"moderate","vulnerable_versions":"not a range at all"}
        ]}
        """#

    /// Only the advisories whose range takes the version apply; one whose range does not read is kept (never hidden).
    @Test func onlyAdvisoriesThatTakeTheVersionApply() throws {
        let registry = try Registry(advisories: Self.lodash)
        defer { registry.server.stop() }
        let found = try client(registry.server.baseURL + "/").advisories(for: [("lodash", "4.17.20")], timeoutMs: 2000)
        #expect(found.map(\.title) == ["Prototype pollution", "Range nobody can read"])
        #expect(found.first == Advisory(
            package: "lodash", version: "4.17.20", severity: "critical", title: "Prototype pollution", url: "https://github.com/advisories/GHSA-1"))
        let fixed = try client(registry.server.baseURL + "/").advisories(for: [("lodash", "4.17.21")], timeoutMs: 2000)
        #expect(fixed.map(\.title) == ["Range nobody can read"])
        #expect(registry.lock.withLock { registry.asked.first?.body } == .object(["lodash": .array([.string("4.17.20")])]))
    }

    /// A private scope's packages are asked of its own registry with its own token; the rest of the default one.
    @Test func aPrivateScopeIsAskedOfItsOwnRegistry() throws {
        let main = try Registry(advisories: "{}")
        let scoped = try Registry(advisories: #"{"@acme/plugin-x":[{"title":"Leaks","severity":"high","vulnerable_versions":"*"}]}"#)
        defer {
            main.server.stop()
            scoped.server.stop()
        }
        let found = try client(main.server.baseURL + "/", scope: ("@acme", scoped.server.baseURL + "/private"))
            .advisories(for: [("@acme/plugin-x", "1.0.0"), ("lodash", "4.17.21")], timeoutMs: 2000)
        #expect(found.map { "\($0.package)@\($0.version) \($0.severity)" } == ["@acme/plugin-x@1.0.0 high"])
        #expect(scoped.lock.withLock { scoped.asked.map(\.path) } == ["/private/-/npm/v1/security/advisories/bulk"])
        #expect(scoped.lock.withLock { scoped.asked.first?.authorization } == "Bearer scope-token")
        #expect(main.lock.withLock { main.asked.first?.body } == .object(["lodash": .array([.string("4.17.21")])]))
    }

    /// A registry without the endpoint says so (the install turns it into a warning, never a refusal).
    @Test func aRegistryWithoutTheEndpointIsAnUpstreamError() throws {
        let registry = try Registry(status: 404, advisories: "{}")
        defer { registry.server.stop() }
        #expect(throws: NpmRegistryError.upstream("The npm registry at \(registry.server.baseURL)/ offers no security advisories (404).")) {
            _ = try client(registry.server.baseURL + "/").advisories(for: [("lodash", "1.0.0")], timeoutMs: 2000)
        }
    }
}
