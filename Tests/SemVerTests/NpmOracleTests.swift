import Foundation
import Synchronization
import Testing
import TestSupport
@testable import SemVer

// The real npm as the oracle for picking.
//
// A loopback registry (TestSupport's LoopbackServer) serves one packument per (scenario, spec) pair, all with the
// same versions — pre-releases, deprecated versions, document order deliberately unsorted — and the scenario's
// dist-tags: a normal `latest`, a pre-release `latest`, a deprecated `latest`, no `latest`, an unpublished `latest`.
// Giving every pair its own package name lets one npm run resolve all of them.
//
// What works offline and reliably against such a registry (npm 10):
//
// * `npm install --dry-run --json` in a prefix whose package.json lists every pair as an *optional* dependency
//   (`"oracle-c-17": "^1.2.0"`) runs npm's real install resolution — arborist → pacote → npm-pick-manifest, the code
//   behind `npm install <name>@<spec>` — without downloading a tarball, and prints `add <name> <version>` for each
//   package it would install. A pair npm cannot resolve is an optional dependency that failed: it is left out
//   silently instead of failing the whole run. So one process answers all ~300 pairs; "no add line" counts as
//   "npm finds nothing" only if the registry did serve that packument (so it was not a transport failure).
// * `npm install --dry-run --json <name>@<spec>` on the command line, in an empty prefix, fails with `ETARGET` when
//   nothing matches: a few such runs confirm that the silently skipped pairs are exactly npm's ETARGET.
// * `npm view --json <name>@<range> version` lists every version satisfying a range (npm view filters with
//   node-semver's loose `satisfies`), compared as a set with `VersionRange.isSatisfied`. npm view is no oracle for
//   the pick itself: it lists all matches, and for `*` and `<name>@` it shows `latest`.
// * Not `npm pack --dry-run`: it downloads the tarball.
//
// npm runs hermetically: empty user/global configs, a fresh cache, `--prefer-online`, no audit, fund or update
// notifier, no proxy, `--fetch-retries=0`. About 20 npm processes run, three at a time, within a 55-second budget
// (about 15 seconds on an idle two-core machine); a process still running at the budget is killed and reported.
// The test is skipped, saying so, only when `npm` is not on the PATH.
@Suite("npm oracle", .serialized)
struct NpmOracleTests {
    struct Scenario: Sendable {
        let key: String
        let distTags: [String: String]
        let deprecated: Set<String>
    }

    static let versions = [
        "1.0.0", "0.0.1", "0.0.2", "0.1.0", "0.1.1-beta.1", "0.1.1", "0.2.0", "1.0.0-alpha", "1.0.0-alpha.1",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.1", "1.1.0", "1.2.0-beta.1", "1.2.0", "1.2.3",
        "1.2.4-next.0", "1.3.0", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0", "2.1.1", "2.1.0", "3.0.0-alpha.0", "3.0.0-alpha.1",
    ]

    static let scenarios = [
        Scenario(key: "a", distTags: ["latest": "2.1.0", "next": "3.0.0-alpha.1", "beta": "1.2.0-beta.1", "old": "0.1.0"],
                 deprecated: ["1.3.0"]),
        Scenario(key: "b", distTags: ["latest": "3.0.0-alpha.1", "stable": "2.1.0"], deprecated: ["2.1.1"]),
        Scenario(key: "c", distTags: ["latest": "2.1.1", "next": "3.0.0-alpha.1"], deprecated: ["2.1.1", "1.3.0", "0.1.1"]),
        Scenario(key: "d", distTags: ["next": "2.0.0-rc.2"], deprecated: []),
        Scenario(key: "e", distTags: ["latest": "9.9.9", "beta": "1.2.0-beta.1"], deprecated: []),
    ]

    /// nil is no spec at all (`""` in the package.json, which npm-pick-manifest treats as "none given").
    static let specs: [String?] = [
        nil, "", "*", "x", "latest", "next", "beta", "old", "stable", "missing",
        "1.2.3", "v1.2.3", "=1.0.0-beta.11", "1.3.0", "1.2.5", "3.0.0-alpha.0",
        "^1.0.0", "^1.2.0", "^1.2.x", "~1.2.0", "~1.2", "~1", "1.x", "1.2.x", "1", "1.2", "^2", "~2.1.0",
        "^0.1.0", "^0.0.1", "^0.0", "^0.x", "~0.1.1-beta.1", "^0.1.1-beta.0",
        ">=1.0.0 <2.0.0", ">= 1.2.3", ">1.2.3 <=2.0.0", "<1.0.0", "<=1.0.0-rc.1", ">=0.0.0", ">=2.0.0-rc.1",
        "^1.0.0-beta.2", "1.0.0-alpha - 1.0.0", "1.0.0 - 2.0.0", "1.2 - 2", "^2.0.0-rc.1", "^3.0.0-alpha.0",
        "3.0.0-alpha.0 - 3.0.0-alpha.1", "1.x || 2.x", "^0.1 || ^2.1", "<0.0.1", ">=99", "2.0.0-rc.1 || 3",
        "~ 1.2.3", "^ 1.2.3", "*.*.*", ">1.2.3-0 <1.2.5",
    ]

    /// Ranges whose whole satisfying set is compared with npm view (every spec's pick is compared anyway).
    static let viewedRanges = [
        "^1.0.0", "1.x", "^0.0", ">= 1.2.3", "<=1.0.0-rc.1", ">=0.0.0", ">=2.0.0-rc.1", "^1.0.0-beta.2",
        "1.0.0-alpha - 1.0.0", "1.2 - 2", "3.0.0-alpha.0 - 3.0.0-alpha.1", "1.x || 2.x", "~0.1.1-beta.1", "<0.0.1",
    ]

    /// (scenario, spec) pairs nothing satisfies, run one by one to see npm's ETARGET: a missing tag, a `latest` tag
    /// absent or unpublished, an unpublished exact version, a range beyond every version.
    static let etargetChecks = [("a", "missing"), ("d", "latest"), ("e", "latest"), ("a", "1.2.5"), ("b", ">=99")]

    static func packageName(_ scenario: Scenario, _ specIndex: Int) -> String {
        "oracle-\(scenario.key)-\(specIndex)"
    }

    /// nil (no spec) is npm's bare `<name>` on a command line and `""` in a package.json.
    static func argument(_ name: String, _ spec: String?) -> String {
        spec.map { "\(name)@\($0)" } ?? name
    }

    static let npmPath: String? = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/npm"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Our pick equals npm's install pick for every spec in every scenario (285 pairs: versions, ranges, tags, none),
    /// "nothing" is npm's ETARGET, and `npm view`'s set of satisfying versions equals our filter for 14 ranges.
    @Test(.enabled(if: npmPath != nil, "npm is not on the PATH: the npm oracle cannot run"), .timeLimit(.minutes(1)))
    func picksMatchNpm() throws {
        let started = ContinuousClock.now
        let registryLog = RegistryLog()
        let registry = try LoopbackServer { request in Self.serve(request, log: registryLog) }
        defer { registry.stop() }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let npm = Npm(path: Self.npmPath!, registry: registry.baseURL + "/", sandbox: sandbox)

        // Our answers.
        var expected: [(name: String, spec: String?, pick: String?)] = []
        for scenario in Self.scenarios {
            for (index, spec) in Self.specs.enumerated() {
                let pick = try VersionPicker.pick(
                    wanted: spec, versions: Self.versions, distTags: scenario.distTags, deprecated: scenario.deprecated
                )
                expected.append((Self.packageName(scenario, index), spec, pick))
            }
        }
        #expect(expected.count { $0.pick != nil } > 200)
        #expect(expected.count { $0.pick == nil } >= 20)
        // npm is slow to start (about a second of CPU per run): all runs share a budget of 55 seconds.

        // 1. Every pair at once: optional dependencies of one package, one npm install --dry-run.
        var dependencies: [String: String] = [:]
        for item in expected { dependencies[item.name] = item.spec ?? "" }
        let manifest: [String: Any] = ["name": "oracle-root", "version": "1.0.0", "optionalDependencies": dependencies]
        try JSONSerialization.data(withJSONObject: manifest).write(to: sandbox.root.appendingPathComponent("prefix/package.json"))
        let batch = try npm.run(["install", "--dry-run"] + npm.installFlags(prefix: "prefix"), deadline: started + .seconds(30))
        #expect(batch.status == 0, "npm install --dry-run failed: \(batch.explanation)")
        var npmPicks: [String: String] = [:]
        for line in batch.stdout.split(separator: "\n") where line.hasPrefix("add ") {
            let words = line.split(separator: " ")
            if words.count == 3 { npmPicks[String(words[1])] = String(words[2]) }
        }
        #expect(npmPicks.count > 200, "npm added only \(npmPicks.count) packages: \(batch.explanation)")
        let served = registryLog.names.withLock { $0 }
        for item in expected {
            let label = "\(item.name) spec \(item.spec.map { "'\($0)'" } ?? "none")"
            #expect(npmPicks[item.name] == item.pick, "\(label): npm \(npmPicks[item.name] ?? "nothing"), ours \(item.pick ?? "nothing")")
            if item.pick == nil { #expect(served.contains(item.name), "\(label): npm never fetched the packument") }
        }

        // 2. A few of the pairs nobody resolves, on npm's command line: each must fail with ETARGET.
        let unresolvable = Self.etargetChecks.map { key, spec in
            let index = Self.specs.firstIndex(of: spec)!
            return expected.first { $0.name == Self.packageName(Self.scenarios.first { $0.key == key }!, index) }!
        }
        #expect(unresolvable.allSatisfy { $0.pick == nil })

        // 3. The satisfying set of a selection of ranges (scenario a) from npm view — in the same pool of processes as 2.
        let ranges = Self.viewedRanges.map { spec -> (name: String, spec: String, range: VersionRange?) in
            let name = Self.packageName(Self.scenarios[0], Self.specs.firstIndex(of: spec)!)
            guard case .range(let range)? = try? VersionSpec(spec) else { return (name, spec, nil) }
            return (name, spec, range)
        }
        let commands = unresolvable.map { ["install", "--dry-run"] + npm.installFlags(prefix: "single") + [Self.argument($0.name, $0.spec)] }
            + ranges.map { ["view", "--json"] + npm.commonFlags + ["\($0.name)@\($0.spec)", "version"] }
        let results = try npm.runAll(commands, deadline: started + .seconds(55))
        for (item, result) in zip(unresolvable, results) {
            #expect(result.status != 0 && result.errorCode == "ETARGET",
                    "\(item.name) spec '\(item.spec ?? "")': we find nothing, npm: \(result.explanation)")
        }
        for (item, result) in zip(ranges, results.dropFirst(unresolvable.count)) {
            guard let range = item.range else {
                Issue.record("'\(item.spec)' is not a range for us")
                continue
            }
            let ours = Set(Self.versions.filter { range.isSatisfied(by: $0) })
            guard let theirs = result.viewedVersions else {
                Issue.record("npm view '\(item.spec)' gave no answer: \(result.explanation)")
                continue
            }
            #expect(theirs == ours, "range '\(item.spec)': npm \(theirs.sorted()), ours \(ours.sorted())")
        }
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    // MARK: - The fake registry

    final class RegistryLog: Sendable {
        /// Package names whose packument was served.
        let names = Mutex<Set<String>>([])
    }

    static func serve(_ request: LoopbackServer.Request, log: RegistryLog) -> LoopbackServer.Reply {
        let name = String(request.path.dropFirst().prefix { $0 != "?" })
        let parts = name.split(separator: "-")
        guard request.method == "GET", parts.count == 3, parts[0] == "oracle",
              let scenario = scenarios.first(where: { $0.key == parts[1] }) else {
            return .respond(status: 404, headers: [("Content-Type", "application/json")], body: Array(#"{"error":"Not found"}"#.utf8))
        }
        _ = log.names.withLock { $0.insert(name) }
        return .respond(status: 200, headers: [("Content-Type", "application/json")], body: packument(name: name, scenario: scenario))
    }

    static func packument(name: String, scenario: Scenario) -> [UInt8] {
        var manifests: [String: Any] = [:]
        var times: [String: Any] = ["created": "2020-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"]
        for (index, version) in versions.enumerated() {
            var manifest: [String: Any] = [
                "name": name,
                "version": version,
                "dist": [
                    "tarball": "http://127.0.0.1:1/\(name)/-/\(name)-\(version).tgz",
                    "integrity": "sha512-" + Data(repeating: UInt8(index), count: 64).base64EncodedString(),
                ],
            ]
            if scenario.deprecated.contains(version) { manifest["deprecated"] = "do not use \(version)" }
            manifests[version] = manifest
            times[version] = String(format: "2021-01-%02dT00:00:00.000Z", index + 1)
        }
        let document: [String: Any] = ["name": name, "dist-tags": scenario.distTags, "versions": manifests, "time": times]
        // The document is built from literals above; serialization cannot fail.
        return Array((try? JSONSerialization.data(withJSONObject: document)) ?? Data())
    }
}

// MARK: - Running npm

struct Sandbox {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("semver-npm-oracle-\(UUID().uuidString)")
        for directory in ["cache", "prefix", "single", "home"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        for file in ["userconfig", "globalconfig"] {
            try Data().write(to: root.appendingPathComponent(file))
        }
    }

    func path(_ name: String) -> String {
        root.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
    }
}

struct NpmResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
    let timedOut: Bool

    var explanation: String {
        timedOut ? "killed at the time budget (npm too slow on this machine?)" : "exit \(status), \(errorSummary)"
    }

    /// The `error.code` of npm's `--json` error document.
    var errorCode: String? {
        guard let error = jsonError else { return nil }
        return error["code"] as? String
    }

    var errorSummary: String {
        guard let error = jsonError else { return String(stderr.suffix(300)) }
        return "\(error["code"] ?? "?"): \(error["summary"] ?? "")"
    }

    private var jsonError: [String: Any]? {
        guard let start = stdout.firstIndex(of: "{"),
              let object = try? JSONSerialization.jsonObject(with: Data(stdout[start...].utf8)) as? [String: Any] else { return nil }
        return object["error"] as? [String: Any]
    }

    /// `npm view --json … version`: one string, an array of strings, or E404 for no match (an empty set).
    var viewedVersions: Set<String>? {
        if status != 0 { return errorCode == "E404" ? [] : nil }
        guard let value = try? JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed]) else { return nil }
        if let one = value as? String { return [one] }
        if let many = value as? [String] { return Set(many) }
        return nil
    }
}

struct Npm {
    let path: String
    let registry: String
    let sandbox: Sandbox

    var commonFlags: [String] {
        [
            "--registry", registry, "--prefer-online", "--fetch-retries=0", "--fetch-timeout=20000",
            "--no-update-notifier", "--loglevel=error", "--no-proxy", "--no-https-proxy", "--noproxy=*",
        ]
    }

    func installFlags(prefix: String) -> [String] {
        commonFlags + ["--json", "--prefix", sandbox.path(prefix), "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"]
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            let lowered = key.lowercased()
            return !lowered.hasPrefix("npm_config_") && !lowered.hasSuffix("_proxy")
        }
        environment["npm_config_cache"] = sandbox.path("cache")
        environment["npm_config_userconfig"] = sandbox.path("userconfig")
        environment["npm_config_globalconfig"] = sandbox.path("globalconfig")
        environment["npm_config_update_notifier"] = "false"
        environment["HOME"] = sandbox.path("home")
        environment["NO_PROXY"] = "*"
        environment["no_proxy"] = "*"
        return environment
    }

    func run(_ arguments: [String], deadline: ContinuousClock.Instant) throws -> NpmResult {
        try runAll([arguments], deadline: deadline)[0]
    }

    /// Runs the commands, three at a time; any still running at `deadline` is killed (and reported as timed out).
    func runAll(_ commands: [[String]], deadline: ContinuousClock.Instant, concurrency: Int = 3) throws -> [NpmResult] {
        var timedOut = Set<Int>()
        var results = [NpmResult?](repeating: nil, count: commands.count)
        var running: [(index: Int, process: Process, out: URL, err: URL)] = []
        var next = 0
        while next < commands.count || !running.isEmpty {
            while running.count < concurrency, next < commands.count {
                let out = sandbox.root.appendingPathComponent("out-\(next)")
                let err = sandbox.root.appendingPathComponent("err-\(next)")
                _ = FileManager.default.createFile(atPath: out.path, contents: nil)
                _ = FileManager.default.createFile(atPath: err.path, contents: nil)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = commands[next]
                process.environment = environment
                process.currentDirectoryURL = URL(fileURLWithPath: sandbox.path("prefix"))
                process.standardInput = FileHandle.nullDevice
                process.standardOutput = try FileHandle(forWritingTo: out)
                process.standardError = try FileHandle(forWritingTo: err)
                try process.run()
                running.append((next, process, out, err))
                next += 1
            }
            if ContinuousClock.now > deadline {
                for item in running where timedOut.insert(item.index).inserted { item.process.terminate() }
            }
            var finished = Set<Int>()
            for item in running where !item.process.isRunning {
                item.process.waitUntilExit()
                let stdout = (try? String(contentsOf: item.out, encoding: .utf8)) ?? ""
                let stderr = (try? String(contentsOf: item.err, encoding: .utf8)) ?? ""
                results[item.index] = NpmResult(status: item.process.terminationStatus, stdout: stdout, stderr: stderr,
                                                timedOut: timedOut.contains(item.index))
                finished.insert(item.index)
            }
            running.removeAll { finished.contains($0.index) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return results.map { $0 ?? NpmResult(status: -1, stdout: "", stderr: "not run", timedOut: true) }
    }
}
