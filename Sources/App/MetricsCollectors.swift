import CoreMetrics
import Foundation
import Glibc
import Locking
import Plugins
import Registry

/// The plugin registry's gauges, read at each exposition: the entries of the copy in service, how old it is, whether
/// that copy is plugind's bundled catalogue, and whether a refresh is asking upstream right now.
struct RegistryCollector: Sendable {
    let registry: RegistryService
    let factory: any MetricsFactory
    let entries: Gauge
    let bundled: Gauge
    let refreshing: Gauge
    /// Made once there is a fetched copy: an age of nothing would be a made-up number.
    private let age = Locked<Gauge?>(nil)

    init(registry: RegistryService, factory: any MetricsFactory) {
        self.registry = registry
        self.factory = factory
        entries = Gauge(label: "plugind_registry_entries", factory: factory)
        bundled = Gauge(label: "plugind_registry_snapshot_bundled", factory: factory)
        refreshing = Gauge(label: "plugind_registry_refresh_in_progress", factory: factory)
    }

    func collect() {
        refreshing.record(registry.isRefreshing ? 1 : 0)
        // The copy in service without fetching anything: a scrape never makes plugind ask upstream.
        guard let snapshot = registry.cachedSnapshot() else {
            entries.record(0)
            bundled.record(0)
            return
        }
        entries.record(Double(snapshot.count))
        bundled.record(snapshot.isBundled ? 1 : 0)
        let seconds = max(0, Date().timeIntervalSince(snapshot.source.fetchedAt))
        age.withLock { gauge in
            if gauge == nil { gauge = Gauge(label: "plugind_registry_snapshot_age_seconds", factory: factory) }
            return gauge!
        }.record(seconds)
    }
}

/// The runtime's gauges, read at each exposition through the bridge (its answer is cached for a second, and a call
/// is bounded by `timeouts.bridgeMs`): attached or not, its state, and how many plugins it loaded and failed to load.
struct RuntimeCollector: Sendable {
    let runtime: any RuntimeView
    let factory: any MetricsFactory
    let attached: Gauge
    let loaded: Gauge
    let failed: Gauge
    /// `plugind_runtime_state{state}`: 1 for the state the runtime is in, 0 for every other one seen before.
    private let states = Locked<[String: Gauge]>([:])

    init(runtime: any RuntimeView, factory: any MetricsFactory) {
        self.runtime = runtime
        self.factory = factory
        attached = Gauge(label: "plugind_runtime_attached", factory: factory)
        loaded = Gauge(label: "plugind_runtime_plugins_loaded", factory: factory)
        failed = Gauge(label: "plugind_runtime_plugins_failed", factory: factory)
    }

    func collect() {
        attached.record(runtime.attached ? 1 : 0)
        let snapshot = runtime.attached ? runtime.snapshot() : nil
        let state = runtime.attached ? Self.label(snapshot?.state ?? "unreachable") : "none"
        loaded.record(Double(snapshot?.plugins.filter(\.loaded).count ?? 0))
        failed.record(Double(snapshot?.plugins.filter { !$0.loaded && $0.error != nil }.count ?? 0))
        states.withLock { gauges in
            if gauges[state] == nil { gauges[state] = Gauge(label: "plugind_runtime_state", dimensions: [("state", state)], factory: factory) }
            for (name, gauge) in gauges { gauge.record(name == state ? 1 : 0) }
        }
    }

    /// The runtime names its own states; anything but a short lowercase word is `other`, so the series stay few.
    static func label(_ state: String) -> String {
        guard (1...32).contains(state.utf8.count), state.utf8.allSatisfy({ (0x61...0x7A).contains($0) || $0 == 0x5F || $0 == 0x2D }) else {
            return "other"
        }
        return state
    }
}

/// The process itself, as Prometheus' own clients name it: resident memory, open and allowed descriptors, start time.
struct ProcessCollector: Sendable {
    let residentMemory: Gauge
    let openDescriptors: Gauge
    let maxDescriptors: Gauge

    init(factory: any MetricsFactory) {
        residentMemory = Gauge(label: "process_resident_memory_bytes", factory: factory)
        openDescriptors = Gauge(label: "process_open_fds", factory: factory)
        maxDescriptors = Gauge(label: "process_max_fds", factory: factory)
        Gauge(label: "process_start_time_seconds", factory: factory).record(Date().timeIntervalSince1970)
    }

    func collect() {
        if let pages = Self.residentPages() { residentMemory.record(Double(pages) * Double(sysconf(Int32(_SC_PAGESIZE)))) }
        if let open = Self.openDescriptorCount() { openDescriptors.record(Double(open)) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxDescriptors.record(Double(limit.rlim_cur)) }
    }

    /// The second number of `/proc/self/statm`: resident pages.
    static func residentPages() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? Int(fields[1]) : nil
    }

    /// The entries of `/proc/self/fd`, less the one reading it.
    static func openDescriptorCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = entry.pointee.d_name
            // "." and ".."
            if name.0 == 0x2E && (name.1 == 0 || (name.1 == 0x2E && name.2 == 0)) { continue }
            count += 1
        }
        return count - 1
    }
}
