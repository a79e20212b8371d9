import Foundation
import Glibc
import Testing
@testable import Adapters

/// The nice value in a `/proc/PID/stat` line (field 19; the command name in parentheses may hold spaces).
private func niceness(ofStatLine line: Substring) -> Int32? {
    guard let close = line.lastIndex(of: ")") else { return nil }
    let fields = line[line.index(after: close)...].split(separator: " ")
    // fields[0] is the state (field 3), so field 19 is fields[16].
    return fields.count > 16 ? Int32(fields[16]) : nil
}

/// Every `/proc/PID/stat` line in `output` (a line that starts with a number and a parenthesis), as nice values.
private func nicenesses(in output: String) -> [Int32] {
    output.split(separator: "\n").filter { $0.first?.isNumber == true && $0.contains(" (") }.compactMap(niceness(ofStatLine:))
}

private func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "plugind-priority-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// npm, git and what they start run behind this server's requests: nice 10 and the lowest best-effort I/O level,
/// from their first instruction on, while this server's own threads keep their priority.
@Suite("Child priority")
struct ChildPriorityTests {
    // These tests run at nice 0..10 (a child is set to 10, which is lowering only from there).
    let ownNiceness = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    let lowered = ChildPriority.background.niceness

    /// A child and its own child both report nice 10 and I/O best-effort 7 in /proc, and the run's result is what it
    /// would be at any priority.
    @Test func aChildAndWhatItStartsRunLowered() throws {
        let child = ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "cat /proc/$$/stat; cat /proc/self/stat; ionice -p $$; echo done; exit 4"],
            environment: ["PATH": ChildProcess.defaultSearchPath])
        let result = try child.run()

        #expect(result.exitCode == 4)
        #expect(result.stdout.hasSuffix("done\n"))
        #expect(nicenesses(in: result.stdout) == [lowered, lowered], "\(result.stdout)")
        #expect(result.stdout.contains("best-effort: prio 7"), "\(result.stdout)")
    }

    /// Read from outside, by pid, while the child runs: the process itself is lowered, not only what it prints.
    @Test func theSpawnedProcessIsLoweredSeenFromOutside() throws {
        let seen = SeenStat()
        var child = ChildProcess(executable: "/bin/sleep", arguments: ["0.5"], environment: [:])
        child.onSpawn = { pid in
            seen.record(
                try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                autogroup: try? String(contentsOfFile: "/proc/\(pid)/autogroup", encoding: .utf8))
        }
        let result = try child.run()

        #expect(result.exitCode == 0)
        let line = try #require(seen.line)
        #expect(line.contains("(sleep)"))
        #expect(niceness(ofStatLine: Substring(line)) == lowered)
        // It leads its own session (field 6), so its process group is its own too.
        let fields = line[line.index(after: line.lastIndex(of: ")")!)...].split(separator: " ")
        #expect(fields[3] == fields[2], "session \(fields[3]), process group \(fields[2])")
        // Where the kernel shares the CPU out by session, that session is lowered as well.
        if FileManager.default.fileExists(atPath: "/proc/self/autogroup") {
            #expect(seen.autogroup?.hasSuffix("nice \(lowered)\n") == true, "\(seen.autogroup ?? "-")")
        }
    }

    /// A caller that asks for this server's priority gets it, and spawning lowered children never lowers the thread
    /// that asked (it answers requests).
    @Test func inheritedLeavesThePriorityAndTheCallerIsNeverLowered() throws {
        var child = ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "cat /proc/$$/stat"], environment: ["PATH": ChildProcess.defaultSearchPath])
        child.priority = .inherited
        let inherited = try child.run()
        child.priority = .background
        let background = try child.run()

        #expect(nicenesses(in: inherited.stdout) == [ownNiceness])
        #expect(nicenesses(in: background.stdout) == [lowered])
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == ownNiceness)
    }

    /// Many threads spawning at once all get their own child, each lowered, and their own output.
    @Test func concurrentSpawnsEachGetTheirOwnLoweredChild() throws {
        let results = ConcurrentResults()
        let threads = (0..<8).map { i in
            Thread {
                let child = ChildProcess(
                    executable: "/bin/sh", arguments: ["-c", "echo \(i); cat /proc/$$/stat"],
                    environment: ["PATH": ChildProcess.defaultSearchPath])
                results.add(i, try? child.run())
            }
        }
        threads.forEach { $0.start() }
        for _ in 0..<3000 where results.count < 8 { usleep(10_000) }

        #expect(results.count == 8)
        for (i, result) in results.all {
            let output = try #require(result?.stdout)
            #expect(output.hasPrefix("\(i)\n"))
            #expect(nicenesses(in: output) == [lowered])
        }
    }

    /// git as plugind runs it, and a command git itself starts (an alias that runs a program), are lowered.
    @Test func gitAndWhatItStartsRunLowered() throws {
        let git = GitCommand(path: ChildProcess.defaultSearchPath, home: "/nonexistent")
        let result = try git.run(
            ["-c", "alias.showstat=!cat /proc/$PPID/stat /proc/self/stat", "showstat"], in: nil, timeoutMs: 30_000,
            scrubber: SecretScrubber())

        #expect(result.exitCode == 0, "\(result.stdout)")
        let values = nicenesses(in: result.stdout)
        #expect(values.count == 2 && values.allSatisfy { $0 == lowered }, "\(result.stdout)")
    }

    /// npm as plugind runs it: every thread of npm's node, and the script npm starts, run at nice 10.
    @Test func npmItsThreadsAndItsScriptsRunLowered() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"name": "priority-probe", "version": "1.0.0", "scripts": {"probe": "cat /proc/$PPID/task/*/stat /proc/self/stat"}}"#
            .write(toFile: dir + "/package.json", atomically: true, encoding: .utf8)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ChildProcess.defaultSearchPath
        let npm = NpmRunner(path: path, timeoutMs: 60_000, home: dir, cache: dir + "/cache")
        let result = try npm.run(["run", "--silent", "probe"], in: dir, temporary: dir + "/tmp", timeoutMs: 60_000, scrubber: SecretScrubber())

        #expect(result.exitCode == 0, "\(result.stdout)")
        let values = nicenesses(in: result.stdout)
        // node runs several threads (V8's workers, libuv's); each has its own nice value, and each is lowered.
        #expect(values.count >= 3, "\(result.stdout)")
        #expect(values.allSatisfy { $0 == lowered }, "\(result.stdout)")
    }
}

private final class SeenStat: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    private var group: String?
    func record(_ line: String?, autogroup: String?) { lock.lock(); value = line; group = autogroup; lock.unlock() }
    var line: String? { lock.lock(); defer { lock.unlock() }; return value }
    var autogroup: String? { lock.lock(); defer { lock.unlock() }; return group }
}

private final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: ChildResult?] = [:]
    func add(_ i: Int, _ result: ChildResult?) { lock.lock(); results[i] = result; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return results.count }
    var all: [(Int, ChildResult?)] { lock.lock(); defer { lock.unlock() }; return results.sorted { $0.key < $1.key } }
}
