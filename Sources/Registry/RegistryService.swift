import Adapters
import CoreMetrics
import Dispatch
import Foundation
import Locking
import Logging
import Stores

/// The community plugin registry (contract section 7): fetched from upstream, cached in memory and in
/// the database, served stale while a background refresh runs, and searched through a prebuilt index.
///
/// Every method blocks its thread (it may fetch): call it from a worker thread, never from Swift concurrency.
public final class RegistryService: Sendable {
    enum RefreshOutcome: Sendable {
        case updated(RegistrySnapshot)
        case unchanged(RegistrySnapshot)
        case failed(UpstreamFailure)
    }

    /// One refresh in flight; everyone who wants a refresh meanwhile waits for this one.
    final class RefreshTicket: Sendable {
        private let group = DispatchGroup()
        private let outcome = Locked<RefreshOutcome?>(nil)

        init() { group.enter() }

        func finish(_ result: RefreshOutcome) {
            outcome.withLock { $0 = result }
            group.leave()
        }

        @discardableResult
        func wait() -> RefreshOutcome {
            group.wait()
            return outcome.withLock { $0! }
        }
    }

    struct State: Sendable {
        var loaded = false
        var snapshot: RegistrySnapshot?
        /// Counts snapshot replacements, for response caches.
        var generation = 0
        var lastError: UpstreamFailure?
        var lastErrorAt: Date?
        /// When an automatic refresh last failed in this process (reads back off from upstream after it).
        var failedAt: Date?
        var inflight: RefreshTicket?
    }

    /// What the service works with besides its configuration: the HTTP client (its timeouts, CA file and user agent;
    /// its response size limit becomes `maxDocumentBytes`), the database the snapshot is kept in, the clock the TTL and
    /// the retry interval are measured by, and the log.
    public struct Dependencies: Sendable {
        public var client: HTTPClient
        public var database: StateDB
        public var clock: any WallClock
        public var logger: Logger
        /// plugind's own catalogue as a registry document, served while no upstream copy exists (nil: none).
        public var bundled: BundledRegistry?
        /// Where refreshes are counted (`plugind_registry_refreshes_total{outcome}`, `plugind_registry_refresh_failures_total`).
        public var metrics: any MetricsFactory

        public init(
            client: HTTPClient, database: StateDB, clock: any WallClock = SystemClock(), logger: Logger = Logger(label: "plugind.registry"),
            bundled: BundledRegistry? = nil, metrics: any MetricsFactory = NOOPMetricsHandler.instance
        ) {
            self.metrics = metrics
            self.bundled = bundled
            self.client = client
            self.database = database
            self.clock = clock
            self.logger = logger
        }
    }

    public let configuration: RegistryConfiguration
    let fetcher: RegistryFetcher
    let store: RegistryCacheStore
    let logger: Logger
    let clock: any WallClock
    /// plugind's own catalogue as a registry document, served while no upstream copy exists (any successful fetch
    /// replaces it). Read into a snapshot on first need, not at start: most starts never serve it.
    private let bundledSource: BundledRegistry?
    private let bundledSnapshot = Locked<RegistrySnapshot??>(nil)
    let state = Locked(State())
    /// Called after every successful refresh (new content or a `304`), on the refreshing thread.
    private let refreshObservers = Locked<[@Sendable () -> Void]>([])
    /// Held while the database copy is read, so concurrent first requests read it once.
    private let loadGate = Locked(())
    /// Every refresh that asked upstream, by outcome (`updated`, `unchanged`, `failed`).
    private let refreshCounters: [String: Counter]
    private let refreshFailures: Counter

    public init(configuration: RegistryConfiguration, dependencies: Dependencies) {
        var limits = dependencies.client.configuration
        limits.maxResponseBytes = Int64(configuration.maxDocumentBytes)
        self.configuration = configuration
        self.fetcher = RegistryFetcher(
            client: HTTPClient(configuration: limits), urls: configuration.urls, parser: configuration.parser)
        self.store = RegistryCacheStore(db: dependencies.database)
        self.logger = dependencies.logger
        self.clock = dependencies.clock
        self.bundledSource = dependencies.bundled
        let metrics = dependencies.metrics
        self.refreshCounters = Dictionary(uniqueKeysWithValues: ["updated", "unchanged", "failed"].map { outcome in
            (outcome, Counter(label: "plugind_registry_refreshes_total", dimensions: [("outcome", outcome)], factory: metrics))
        })
        self.refreshFailures = Counter(label: "plugind_registry_refresh_failures_total", factory: metrics)
    }

    /// The bundled catalogue's snapshot, read once; nil when there is none or it does not read as a registry.
    var bundled: RegistrySnapshot? {
        guard let bundledSource else { return nil }
        return bundledSnapshot.withLock { built in
            if let built { return built }
            let snapshot = Self.bundledSnapshot(bundledSource, parser: configuration.parser, at: clock.now, logger: logger)
            built = .some(snapshot)
            return snapshot
        }
    }

    public convenience init(
        configuration: RegistryConfiguration, client: HTTPClient, database: StateDB, logger: Logger = Logger(label: "plugind.registry"),
        clock: any WallClock = SystemClock()
    ) {
        self.init(configuration: configuration, dependencies: Dependencies(client: client, database: database, clock: clock, logger: logger))
    }

    // MARK: Snapshot for reading

    /// With no copy at all, a failed try is retried (in the background, shared by every reader) once it is this old.
    static let noCopyRetrySeconds = 5

    /// The snapshot to answer from. Fresh: as is. Stale: as is, with a background refresh started (unless
    /// one runs, or one failed less than `retryInterval` ago). None at all: the first read in this process
    /// fetches and answers from it; after that fails, reads answer from the bundled catalogue (`noSnapshot`
    /// without one) at once while one background retry (started by a read once the last try is
    /// `noCopyRetrySeconds` old) asks upstream again.
    public func snapshot() throws(RegistryError) -> RegistrySnapshot {
        loadStoredSnapshotOnce()
        enum Plan {
            case serve(RegistrySnapshot)
            case serveAndRefresh(RegistrySnapshot, RefreshTicket)
            case fetch(RefreshTicket, owner: Bool)
            case fail(UpstreamFailure, retry: RefreshTicket?)
        }
        let time = clock.now
        let plan = state.withLock { state -> Plan in
            if let snapshot = state.snapshot {
                let backingOff = state.failedAt.map { time.timeIntervalSince($0) < configuration.retryInterval } ?? false
                if time.timeIntervalSince(snapshot.source.fetchedAt) < configuration.ttl || state.inflight != nil || backingOff {
                    return .serve(snapshot)
                }
                let ticket = RefreshTicket()
                state.inflight = ticket
                return .serveAndRefresh(snapshot, ticket)
            }
            guard let failedAt = state.failedAt, let error = state.lastError else {
                // Nothing tried in this process yet: this read waits for the first fetch (its own or one in flight).
                if let ticket = state.inflight { return .fetch(ticket, owner: false) }
                let ticket = RefreshTicket()
                state.inflight = ticket
                return .fetch(ticket, owner: true)
            }
            if state.inflight != nil || time.timeIntervalSince(failedAt) < Double(Self.noCopyRetrySeconds) {
                return .fail(error, retry: nil)
            }
            let ticket = RefreshTicket()
            state.inflight = ticket
            return .fail(error, retry: ticket)
        }
        switch plan {
        case .serve(let snapshot):
            return snapshot
        case .serveAndRefresh(let snapshot, let ticket):
            Thread.detachNewThread { self.run(ticket, force: false) }
            return snapshot
        case .fetch(let ticket, let owner):
            if owner { run(ticket, force: false) } else { ticket.wait() }
            let (snapshot, error) = state.withLock { ($0.snapshot, $0.lastError) }
            if let snapshot { return snapshot }
            return try bundledOr(error ?? .allFailed([], tried: configuration.urls.count))
        case .fail(let error, let retry):
            if let retry { Thread.detachNewThread { self.run(retry, force: false) } }
            return try bundledOr(error)
        }
    }

    /// The snapshot without fetching or refreshing: nil when there is none yet.
    public func cachedSnapshot() -> RegistrySnapshot? {
        loadStoredSnapshotOnce()
        return state.withLock { $0.snapshot }
    }

    /// Changes whenever anything a registry response shows may have changed (snapshot or last error).
    /// Reading it also starts the refresh a stale snapshot needs, so a cached response never pins old data.
    public func stamp() -> String {
        _ = try? snapshot()
        return state.withLock { state in
            "registry-\(state.generation)-\(state.lastErrorAt?.timeIntervalSince1970 ?? 0)"
        }
    }

    /// The last upstream failure, as one sentence, until a fetch succeeds.
    public var lastError: String? { lastFailure?.sentence }

    /// The last upstream failure (its clause and each URL's reason), until a fetch succeeds.
    public var lastFailure: UpstreamFailure? {
        loadStoredSnapshotOnce()
        return state.withLock { $0.lastError }
    }

    // MARK: Refreshing

    /// Forces a fetch (sharing one already in flight). Succeeds on new content and on `304 Not Modified`;
    /// on failure throws `fetchFailed` and the previous snapshot stays in service.
    @discardableResult
    public func forceRefresh() throws(RegistryError) -> RegistrySnapshot {
        loadStoredSnapshotOnce()
        let (ticket, owner) = state.withLock { state -> (RefreshTicket, Bool) in
            if let ticket = state.inflight { return (ticket, false) }
            let ticket = RefreshTicket()
            state.inflight = ticket
            return (ticket, true)
        }
        if owner { run(ticket, force: true) }
        switch ticket.wait() {
        case .updated(let snapshot), .unchanged(let snapshot): return snapshot
        case .failed(let failure):
            let served = state.withLock { $0.snapshot }.map { ServedCopy.fetched(ISOTime.string(from: $0.source.fetchedAt)) }
            throw .fetchFailed(failure, served: served ?? (bundled == nil ? .none : .bundled))
        }
    }

    /// For start-up (on a thread of its own): reads the database copy and, when it is missing or stale, starts
    /// fetching in the background, so the first registry request neither parses the stored document nor waits
    /// for upstream alone. A request that comes during the read waits for it (`loadGate`).
    public func warmUp() {
        loadStoredSnapshotOnce()
        let time = clock.now
        let ticket = state.withLock { state -> RefreshTicket? in
            if state.inflight != nil { return nil }
            if let snapshot = state.snapshot, time.timeIntervalSince(snapshot.source.fetchedAt) < configuration.ttl { return nil }
            let ticket = RefreshTicket()
            state.inflight = ticket
            return ticket
        }
        if let ticket { Thread.detachNewThread { self.run(ticket, force: false) } }
    }

    /// Waits for the refresh in flight, if any (tests, and an orderly shutdown).
    public func waitForRefresh() {
        state.withLock { $0.inflight }?.wait()
    }

    /// Whether a refresh is asking upstream now (`plugind_registry_refresh_in_progress`).
    public var isRefreshing: Bool { state.withLock { $0.inflight != nil } }


    private func run(_ ticket: RefreshTicket, force: Bool) {
        let outcome = refresh(force: force)
        if case .updated(let snapshot) = outcome {
            Self.settle(snapshot, store: store)
        }
        switch outcome {
        case .updated: refreshCounters["updated"]?.increment()
        case .unchanged: refreshCounters["unchanged"]?.increment()
        case .failed:
            refreshCounters["failed"]?.increment()
            refreshFailures.increment()
        }
        state.withLock { $0.inflight = nil }
        ticket.finish(outcome)
        if case .failed = outcome { return }
        for observer in refreshObservers.withLock({ $0 }) { observer() }
    }

    /// `observer` runs after every successful refresh (installed packages' advisories are re-checked then).
    public func onRefresh(_ observer: @escaping @Sendable () -> Void) {
        refreshObservers.withLock { $0.append(observer) }
    }

    private func refresh(force: Bool) -> RefreshOutcome {
        var current = state.withLock { $0.snapshot }
        // Another plugind process on the same state directory may have fetched in the meantime.
        if let newer = newerStoredSnapshot(than: current) {
            install(newer, lastError: nil)
            current = newer
            if !force, clock.now.timeIntervalSince(newer.source.fetchedAt) < configuration.ttl { return .unchanged(newer) }
        }
        let conditional = current.map {
            RegistryFetcher.Conditional(url: $0.source.url, etag: $0.source.etag, lastModified: $0.source.lastModified)
        }
        switch fetcher.fetch(conditional: conditional) {
        case .fetched(let fetched):
            if fetched.document.format == .index, let current, current.format == .full {
                return failed(
                    UpstreamFailure(
                        summary: "only an index answered, which would lose the full copy's versions and descriptions",
                        details: fetched.earlierFailures + [RegistryFetcher.describe(fetched.url, "an index only; the full copy is kept")]))
            }
            let source = RegistrySource(url: fetched.url, fetchedAt: clock.now, etag: fetched.etag, lastModified: fetched.lastModified)
            let snapshot = RegistrySnapshot(catalog: RegistryCatalog(document: fetched.document), source: source)
            persist("save the registry snapshot") {
                try store.save(document: fetched.body, format: fetched.document.format.rawValue, source: source)
            }
            for warning in fetched.document.warnings { logger.notice("registry \(fetched.url): \(warning)") }
            if fetched.document.skipped > 0 {
                logger.notice(
                    "registry \(fetched.url): skipped \(fetched.document.skipped) entries: \(fetched.document.skippedReasons.joined(separator: "; "))")
            }
            if !fetched.earlierFailures.isEmpty {
                logger.warning("registry: fell back to \(fetched.url) after: \(fetched.earlierFailures.joined(separator: "; "))")
            }
            logger.info("registry: \(fetched.document.entries.count) entries from \(fetched.url)")
            install(snapshot, lastError: nil)
            return .updated(snapshot)
        case .notModified(let url, let etag, let lastModified):
            guard let current, current.source.url == url else {
                return failed(UpstreamFailure(summary: "an upstream answered 304 Not Modified with no copy to keep", details: ["\(url): 304 Not Modified"]))
            }
            let snapshot = current.confirmed(at: clock.now, etag: etag, lastModified: lastModified)
            persist("mark the registry snapshot fresh") { try store.confirm(snapshot.source) }
            install(snapshot, lastError: nil)
            return .unchanged(snapshot)
        case .failed(let failures):
            return failed(.allFailed(failures, tried: configuration.urls.count))
        }
    }

    private func failed(_ failure: UpstreamFailure) -> RefreshOutcome {
        let details = failure.details.map { $0.count > 500 ? String($0.prefix(500)) + "…" : $0 }
        let failure = UpstreamFailure(summary: failure.summary, details: Array(details.prefix(16)))
        let time = clock.now
        logger.warning("registry refresh failed: \(failure.summary): \(failure.details.joined(separator: "; "))")
        persist("record the registry failure") { try store.recordFailure(failure.stored, at: time) }
        state.withLock { state in
            state.lastError = failure
            state.lastErrorAt = time
            state.failedAt = time
        }
        return .failed(failure)
    }

    private func install(_ snapshot: RegistrySnapshot, lastError: UpstreamFailure?) {
        state.withLock { state in
            state.snapshot = snapshot
            state.generation += 1
            state.lastError = lastError
            state.lastErrorAt = nil
            state.failedAt = nil
        }
    }

    // MARK: The database copy

    private func loadStoredSnapshotOnce() {
        if state.withLock({ $0.loaded }) { return }
        loadGate.withLock { _ in
            if state.withLock({ $0.loaded }) { return }
            var snapshot: RegistrySnapshot?
            var record: RegistryCacheStore.Record?
            do {
                record = try store.load()
                snapshot = record.flatMap(storedSnapshot)
            } catch {
                logger.error("registry: cannot read the cached snapshot: \(error)")
            }
            state.withLock { state in
                if state.snapshot == nil, let snapshot {
                    state.snapshot = snapshot
                    state.generation += 1
                }
                if state.lastError == nil, let record {
                    state.lastError = record.lastError.map(UpstreamFailure.init(stored:))
                    state.lastErrorAt = record.lastErrorAt
                }
                state.loaded = true
            }
            if let snapshot {
                // The stored document's parse is gone now (see `run`). On a thread of its own: this runs at start,
                // before the first answer, which a socket-activated plugind owes a waiting request (a search that
                // comes first builds the index itself, under the catalogue's lock).
                let store = self.store
                Thread.detachNewThread { Self.settle(snapshot, store: store) }
            }
        }
    }

    /// After a snapshot is built, its document's parse (and any older snapshot) is gone: hand that memory back, then
    /// build the search index, and hand back what building it left.
    private static func settle(_ snapshot: RegistrySnapshot, store: RegistryCacheStore) {
        store.releaseMemory()
        MemoryReturn.trim()
        snapshot.catalog.prepareSearch()
        MemoryReturn.trim()
    }

    private func storedSnapshot(_ record: RegistryCacheStore.Record) -> RegistrySnapshot? {
        guard let bytes = record.document, let url = record.url, let fetchedAt = record.fetchedAt else { return nil }
        do {
            let document = try configuration.parser.parse([UInt8](bytes))
            let source = RegistrySource(url: url, fetchedAt: fetchedAt, etag: record.etag, lastModified: record.lastModified)
            return RegistrySnapshot(catalog: RegistryCatalog(document: document), source: source)
        } catch {
            logger.error("registry: the cached snapshot no longer reads (\(error)); fetching anew")
            return nil
        }
    }

    private func newerStoredSnapshot(than current: RegistrySnapshot?) -> RegistrySnapshot? {
        do {
            guard let storedAt = try store.fetchedAt(), storedAt > (current?.source.fetchedAt ?? .distantPast) else { return nil }
            return try store.load().flatMap(storedSnapshot)
        } catch {
            logger.error("registry: cannot read the cached snapshot: \(error)")
            return nil
        }
    }

    /// A database failure never costs the fetched data: memory still serves it, and the log says why.
    private func persist(_ what: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.error("registry: cannot \(what): \(error)")
        }
    }
}
