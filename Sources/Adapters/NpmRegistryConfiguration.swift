/// How to reach the npm registry: what plugind's settings say, and what it hands the runner with each job.
public struct NpmRegistryConfiguration: Codable, Sendable {
    public var base: String
    public var token: String?
    public var connectTimeoutMs: Int
    public var fetchTimeoutMs: Int
    public var tarballTimeoutMs: Int
    public var tarballIdleMs: Int
    public var caFile: String?
    public var redirectOrigins: [String]?
    /// Private scopes (setting npmScopes): `@scope` → its registry and token.
    public var scopes: [String: ScopeRegistry] = [:]

    public struct ScopeRegistry: Codable, Sendable {
        public var registry: String
        public var token: String?
        public init(registry: String, token: String?) {
            self.registry = registry
            self.token = token
        }
    }

    public init(
        base: String, token: String?, connectTimeoutMs: Int, fetchTimeoutMs: Int, tarballTimeoutMs: Int, tarballIdleMs: Int, caFile: String?,
        redirectOrigins: [String]?
    ) {
        self.base = base
        self.token = token
        self.connectTimeoutMs = connectTimeoutMs
        self.fetchTimeoutMs = fetchTimeoutMs
        self.tarballTimeoutMs = tarballTimeoutMs
        self.tarballIdleMs = tarballIdleMs
        self.caFile = caFile
        self.redirectOrigins = redirectOrigins
    }
}
