import Foundation
import Logging
import Prometheus
import Testing
@testable import Operations
@testable import Stores

/// The runner counts operations by kind and outcome through the factory it is given (a registry of the test's own).
@Suite struct OperationMetricsTests {
    struct Failed: Error {}

    let registry = PrometheusCollectorRegistry()
    let runner: OperationRunner

    init() throws {
        let dir = NSTemporaryDirectory() + "plugind-ops-metrics-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        runner = OperationRunner(
            store: OperationStore(db: try StateDB(path: dir + "/state.db")), maxConcurrent: 2, deadline: .seconds(30),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: PrometheusMetricsFactory(registry: registry))
    }

    func samples() -> [String: Double] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        var result: [String: Double] = [:]
        for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            result[String(line[..<space])] = value
        }
        return result
    }

    /// Succeeded and failed operations count with their durations; one on a busy target counts as refused; none
    /// is left running.
    @Test func byKindAndOutcome() throws {
        try runner.run(kind: "install", target: "a") { _ in nil }
        try runner.run(kind: "install", target: "b") { _ in nil }
        #expect(throws: Failed.self) { try runner.run(kind: "install", target: "c") { _ in throw Failed() } }
        let gate = Gate()
        let thread = startBlocking(runner, target: "busy", gate: gate)
        #expect(samples()[#"plugind_operations_running{kind="test"}"#] == 1)
        #expect(throws: OperationError.self) { try runner.run(kind: "eject", target: "busy") { _ in nil } }
        gate.release.signal()
        while !thread.isFinished { usleep(1_000) }
        let seen = samples()
        #expect(seen[#"plugind_operations_total{kind="install",outcome="succeeded"}"#] == 2)
        #expect(seen[#"plugind_operations_total{kind="install",outcome="failed"}"#] == 1)
        #expect(seen[#"plugind_operations_total{kind="eject",outcome="refused"}"#] == 1)
        #expect(seen[#"plugind_operations_total{kind="test",outcome="succeeded"}"#] == 1)
        #expect(seen[#"plugind_operation_duration_seconds_count{kind="install",outcome="succeeded"}"#] == 2)
        #expect(seen[#"plugind_operation_duration_seconds_bucket{kind="install",outcome="failed",le="+Inf"}"#] == 1)
        #expect(seen[#"plugind_operations_running{kind="test"}"#] == 0)
        #expect(seen[#"plugind_operations_running{kind="install"}"#] == 0)
    }
}
