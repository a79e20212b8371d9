import Adapters
import Foundation
import JSON
import Logging
import Stores
import Synchronization
import TestSupport
import Testing
@testable import AgentRegistry

/// A fresh state database in a temporary directory.
func temporaryDatabase() throws -> (db: StateDB, path: String) {
    let directory = NSTemporaryDirectory() + "agent-registry-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/state.db"
    return (try StateDB(path: path), path)
}

/// Every log line a service wrote, so tests can look for secrets in them.
final class LogSink: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let sink: LogSink
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) \(merged)")
    }
}

/// What the tests' agents report.
func testContent(name: String? = nil) -> HeartbeatContent {
    HeartbeatContent(
        agentName: name, plugindVersion: "0.9.0-test", runtimeState: "running",
        plugins: [
            .init(name: "@elizaos/plugin-discord", version: "1.2.3", installed: true, enabled: true, loaded: true),
            .init(name: "@elizaos/plugin-sql", version: nil, installed: false, enabled: true, loaded: false),
        ])
}

/// A fake registry, a database and services over them.
struct Fixture {
    let registry: FakeAgentRegistry
    let database: StateDB
    let databasePath: String
    let logs = LogSink()

    init() throws {
        registry = try FakeAgentRegistry()
        (database, databasePath) = try temporaryDatabase()
    }

    /// A service on the fixture's database (or `database`), heartbeating every `intervalMs` (below the settings' minimum on purpose).
    func service(
        registryURL: String? = nil, autoRegister: Bool = false, publicURI: String? = nil, intervalMs: Int = 200, retryBaseMs: Int = 100,
        retryCapMs: Int = 400, timeout: Duration = .seconds(2), name: String? = nil, database: StateDB? = nil
    ) -> AgentRegistryService {
        var configuration = AgentRegistryConfiguration(
            registryURL: registryURL ?? registry.url, autoRegister: autoRegister, agentName: "test-agent", publicURI: publicURI,
            retryBaseMs: retryBaseMs, retryCapMs: retryCapMs)
        configuration.syncIntervalMs = intervalMs
        let client = HTTPClient(configuration: .init(connectTimeout: .seconds(1), totalTimeout: timeout, idleTimeout: timeout))
        let sink = logs
        return AgentRegistryService(
            configuration: configuration, client: client, database: database ?? self.database, content: { testContent(name: name) },
            logger: Logger(label: "agent-registry-tests") { _ in CapturingLogHandler(sink: sink) })
    }

    /// A second handle on the same database file, as another plugind process would open it.
    func reopenedDatabase() throws -> StateDB {
        try StateDB(path: databasePath)
    }
}

/// The agent registry error a call threw, or nil when it returned.
func registryError<T>(_ call: () throws -> T) -> AgentRegistryError? {
    do {
        _ = try call()
        return nil
    } catch let error as AgentRegistryError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
@discardableResult
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}
