import Adapters
import CoreMetrics
import Dispatch
import Foundation
import Locking
import Logging
import Stores

/// Registers this agent with the agent registry and keeps it current with a heartbeat (contract section 8;
/// the wire protocol is in `docs/agent-registry.md`).
///
/// Every method blocks its thread (it may call the registry): call it from a worker thread, never from
/// Swift concurrency. Calls that talk to the registry run one at a time per service, background included.
/// The agent's secret is stored in the database and never appears in a returned value, an error or a log line.
public final class AgentRegistryService: Sendable {
    public let configuration: AgentRegistryConfiguration
    let client: AgentRegistryClient
    let store: AgentRegistrationStore
    let lease: HeartbeatLeaseStore
    let content: @Sendable () -> HeartbeatContent
    let logger: Logger
    let clock: any WallClock
    let retry: RetryPolicy
    /// This instance as a lease holder.
    let owner = HeartbeatLeaseStore.LeaseOwner(pid: getpid(), token: UUID().uuidString)

    struct LoopState: Sendable {
        var running = false
        var stopping = false
        /// Consecutive failed background attempts; zero while all is well.
        var failures = 0
        var holdsLease = false
        var warnedNoURI = false
        /// The `Retry-After` of the last failed registration, for the loop's next wait.
        var retryAfterMs: Int?
        var finished: DispatchSemaphore?
    }
    let loop = Locked(LoopState())
    /// Wakes the background loop early (stop, or a registration made by a request).
    let wake = DispatchSemaphore(value: 0)
    /// Held while talking to the registry, so a request and the background loop never interleave their changes.
    let exchange = Locked(())
    /// Heartbeats sent, `plugind_agent_registry_heartbeats_total{outcome}`: `accepted`, `unknown_agent` (the registry
    /// forgot the agent; it registers again) or `failed`; and registrations, `plugind_agent_registry_registrations_total{outcome}`.
    private let heartbeatCounters: [String: Counter]
    private let registrationCounters: [String: Counter]

    /// What the service works with besides its configuration: the HTTP client (its connect and fetch timeouts, CA
    /// file and user agent; answers are limited to 1 MiB), the database the registration and the lease are kept in,
    /// the clock sync times, retries and leases are told by, and the log.
    public struct Dependencies: Sendable {
        public var client: HTTPClient
        public var database: StateDB
        public var clock: any WallClock
        public var logger: Logger
        public var metrics: any MetricsFactory

        public init(
            client: HTTPClient, database: StateDB, clock: any WallClock = SystemClock(), logger: Logger = Logger(label: "plugind.agent-registry"),
            metrics: any MetricsFactory = NOOPMetricsHandler.instance
        ) {
            self.metrics = metrics
            self.client = client
            self.database = database
            self.clock = clock
            self.logger = logger
        }
    }

    /// `content` is asked for what to report each time the registry is told about the agent. A `publicURI` that is
    /// not an absolute http(s) URL without credentials is ignored (and logged).
    public init(
        configuration: AgentRegistryConfiguration, dependencies: Dependencies, content: @escaping @Sendable () -> HeartbeatContent
    ) {
        var configuration = configuration
        let logger = dependencies.logger
        if let uri = configuration.publicURI, let problem = PublicURI.problem(uri) {
            // Never published, nor shown: it may even carry a password.
            logger.error("agent registry: the publicUri setting is ignored: \(problem)")
            configuration.publicURI = nil
        }
        self.configuration = configuration
        self.client = AgentRegistryClient(http: dependencies.client, baseURL: configuration.registryURL)
        self.store = AgentRegistrationStore(db: dependencies.database)
        self.lease = HeartbeatLeaseStore(db: dependencies.database)
        self.content = content
        self.logger = logger
        self.clock = dependencies.clock
        self.retry = RetryPolicy(baseMs: configuration.retryBaseMs, capMs: configuration.retryCapMs)
        let metrics = dependencies.metrics
        heartbeatCounters = Dictionary(uniqueKeysWithValues: ["accepted", "unknown_agent", "failed"].map {
            ($0, Counter(label: "plugind_agent_registry_heartbeats_total", dimensions: [("outcome", $0)], factory: metrics))
        })
        registrationCounters = Dictionary(uniqueKeysWithValues: ["succeeded", "failed"].map {
            ($0, Counter(label: "plugind_agent_registry_registrations_total", dimensions: [("outcome", $0)], factory: metrics))
        })
    }

    /// Sends a heartbeat and counts how it went.
    func sendHeartbeat(_ body: HeartbeatContent.Body, as credentials: AgentRegistryClient.Credentials) -> AgentRegistryClient.Reply {
        let reply = client.heartbeat(body, as: credentials)
        switch reply {
        case .accepted: heartbeatCounters["accepted"]?.increment()
        case .unknownAgent: heartbeatCounters["unknown_agent"]?.increment()
        case .failed: heartbeatCounters["failed"]?.increment()
        }
        return reply
    }

    public convenience init(
        configuration: AgentRegistryConfiguration, client: HTTPClient, database: StateDB,
        content: @escaping @Sendable () -> HeartbeatContent, logger: Logger = Logger(label: "plugind.agent-registry"),
        clock: any WallClock = SystemClock()
    ) {
        self.init(
            configuration: configuration, dependencies: Dependencies(client: client, database: database, clock: clock, logger: logger),
            content: content)
    }

    // MARK: Reading

    /// `GET /api/registry/status`.
    public func status() throws -> AgentRegistryStatus {
        let record = try store.load()
        let credentials = record.credentials(for: configuration.registryURL)
        let registered = credentials != nil
        return AgentRegistryStatus(
            registered: registered, agentId: credentials?.agentId, registryUrl: shownRegistryURL, uri: effectiveURI(record),
            lastSyncAt: registered ? record.lastSyncAt.map { ISOTime.string(from: $0) } : nil, lastError: record.lastError,
            nextSyncAt: registered || configuration.autoRegister ? record.nextSyncAt.map { ISOTime.string(from: $0) } : nil)
    }

    /// `GET /api/registry/config`: the settings, never the secret.
    public func config() -> AgentRegistrySettings {
        AgentRegistrySettings(
            registryUrl: shownRegistryURL, autoRegister: configuration.autoRegister, syncInterval: configuration.syncIntervalMs,
            agentName: configuration.agentName, publicUri: configuration.publicURI)
    }

    /// Whether the agent holds a registration with the configured registry.
    public var isRegistered: Bool {
        (try? store.load().credentials(for: configuration.registryURL)) != nil
    }

    // MARK: Requests

    /// `POST /api/registry/register`: `{ok: true, agentId}`. Registers with `uri`, else the stored or configured
    /// URI. Already registered: answers with the same agent id, and a `uri` that differs is sent as update-uri would.
    public func register(uri: String? = nil) throws -> AgentRegistration {
        if let uri, let problem = PublicURI.problem(uri) { throw AgentRegistryError.badURI(problem) }
        return try exchange.withLock { _ in
            let record = try store.load()
            if let credentials = record.credentials(for: configuration.registryURL) {
                if let uri, uri != effectiveURI(record) { try sendURI(uri, as: credentials) }
                return AgentRegistration(agentId: try currentAgentId() ?? credentials.agentId)
            }
            guard let target = uri ?? effectiveURI(record) else { throw AgentRegistryError.noURI }
            let credentials = try registerNow(uri: target, storeURI: uri != nil, reason: "requested")
            return AgentRegistration(agentId: credentials.agentId)
        }
    }

    /// `POST /api/registry/update-uri`: `{ok: true, registered}`. When registered, the registry hears of the URI
    /// first and nothing is stored unless it accepted it.
    public func updateURI(_ uri: String) throws -> AgentURIUpdate {
        if let problem = PublicURI.problem(uri) { throw AgentRegistryError.badURI(problem) }
        return try exchange.withLock { _ in
            let record = try store.load()
            guard let credentials = record.credentials(for: configuration.registryURL) else {
                try store.saveURI(uri)
                return AgentURIUpdate(registered: false)
            }
            try sendURI(uri, as: credentials)
            return AgentURIUpdate(registered: true)
        }
    }

    /// `POST /api/registry/sync`: sends the heartbeat now, `{ok: true}`. A registry that no longer knows the
    /// agent gets a new registration instead.
    public func sync() throws -> AgentSync {
        try exchange.withLock { _ in
            let record = try store.load()
            guard let credentials = record.credentials(for: configuration.registryURL) else { throw AgentRegistryError.notRegistered }
            let body = heartbeatBody(record)
            switch sendHeartbeat(body, as: credentials) {
            case .accepted:
                let time = clock.now
                try store.recordSync(at: time, nextSyncAt: time.addingTimeInterval(intervalSeconds))
                loop.withLock { $0.failures = 0 }
            case .unknownAgent(let refusal):
                logger.notice("agent registry: the registry no longer knows agent \(credentials.agentId) (\(refusal)); registering again")
                guard let uri = effectiveURI(record) else { throw AgentRegistryError.noURI }
                _ = try registerNow(uri: uri, storeURI: false, reason: "the registry forgot the agent")
            case .failed(let error, _):
                try? recordFailure(error, what: "heartbeat")
                throw error
            }
            return AgentSync()
        }
    }

    // MARK: Shared steps (called with `exchange` held)

    /// Registers now and stores the credentials; a failure is recorded and thrown.
    @discardableResult
    func registerNow(uri: String, storeURI: Bool, reason: String) throws -> AgentRegistryClient.Credentials {
        let body = content().body(defaultName: configuration.agentName, uri: uri)
        let credentials: AgentRegistryClient.Credentials
        switch client.register(body, previousSecret: try? store.load().secret) {
        case .success(let issued):
            registrationCounters["succeeded"]?.increment()
            credentials = issued
        case .failure(let failure):
            registrationCounters["failed"]?.increment()
            try? recordFailure(failure.error, what: "registration")
            loop.withLock { $0.retryAfterMs = failure.retryAfterMs }
            throw failure.error
        }
        let time = clock.now
        try store.saveRegistration(
            registryURL: configuration.registryURL, credentials: credentials, uri: storeURI ? uri : nil, at: time,
            nextSyncAt: time.addingTimeInterval(intervalSeconds))
        loop.withLock { $0.failures = 0 }
        logger.info("agent registry: registered as \(credentials.agentId) at \(shownRegistryURL) (\(reason))")
        wake.signal()
        return credentials
    }

    /// Sends a new URI for a registered agent and stores it once the registry took it.
    private func sendURI(_ uri: String, as credentials: AgentRegistryClient.Credentials) throws {
        switch client.updateURI(uri, as: credentials) {
        case .accepted:
            try store.saveAcceptedURI(uri)
            logger.info("agent registry: public URI of \(credentials.agentId) updated")
        case .unknownAgent(let refusal):
            logger.notice("agent registry: the registry no longer knows agent \(credentials.agentId) (\(refusal)); registering again")
            try registerNow(uri: uri, storeURI: true, reason: "the registry forgot the agent")
        case .failed(let error, _):
            try? recordFailure(error, what: "URI update")
            throw error
        }
    }

    func recordFailure(_ error: AgentRegistryError, what: String) throws {
        logger.warning("agent registry: \(what) failed: \(error)")
        try store.recordFailure(error.description, at: clock.now)
    }

    func effectiveURI(_ record: AgentRegistrationStore.Record) -> String? {
        record.uri ?? configuration.publicURI
    }

    func heartbeatBody(_ record: AgentRegistrationStore.Record) -> HeartbeatContent.Body {
        content().body(defaultName: configuration.agentName, uri: effectiveURI(record))
    }

    private func currentAgentId() throws -> String? {
        try store.load().credentials(for: configuration.registryURL)?.agentId
    }

    var intervalSeconds: TimeInterval { Double(configuration.syncIntervalMs) / 1000 }

    /// The registry URL as responses and logs show it: credentials in it, if any, masked.
    var shownRegistryURL: String { SecretScrubber().scrub(configuration.registryURL) }
}
