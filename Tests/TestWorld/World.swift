import App
import Crypto
import Foundation
import HTTPKit
import JSON
import Logging
import Settings
import Stores
import TestSupport
import Testing

/// plugind as the composition root builds it (for the API tests and the service tests), over a temporary state directory, with every outside service a
/// loopback fake speaking the real protocol: the plugin registry (the real snapshot in ../shared/data), an npm
/// registry (real tarballs, real sha512 integrity), git upstreams (real repositories), the agent registry and
/// the agent host's runtime bridge. Requests go to the real gatekeeper and route table as nginx hands them over;
/// nothing of plugind's own is replaced.
public final class World: @unchecked Sendable {
    /// A plugin in Milady's catalogue and the registry snapshot (its repository is served here for eject).
    public static let ejectable = (id: "acp", npm: "@elizaos/plugin-acp", repo: "elizaos-plugins/plugin-acp", version: "2.0.0-alpha.4")
    /// A catalogue plugin installed from npm at start (uninstall, PUT, test).
    public static let installed = (id: "anthropic", npm: "@elizaos/plugin-anthropic", version: "1.5.12")
    /// A package the npm fake publishes (install).
    public static let published = (npm: "@acme/plugin-api-fixture", version: "1.0.0")
    public static let origin = "https://plugind.test"

    public let base: String
    public let stateDir: String
    public let wiring: Wiring
    public let adminToken: String
    public let readToken: String
    public let registry: LoopbackServer
    public let npm: LoopbackServer
    public let bridge: LoopbackServer
    public let agentRegistry: FakeAgentRegistry

    public init(settings extra: [(key: String, value: String)] = []) throws {
        base = NSTemporaryDirectory() + "plugind-api-" + UUID().uuidString
        stateDir = base + "/state"
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let snapshot = try Self.registryDocument()
        registry = try LoopbackServer { request in
            request.path.hasPrefix("/generated-registry.json")
                ? .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array(snapshot)) : .respond(status: 404)
        }
        let package = try NpmPackage(name: Self.published.npm, version: Self.published.version, in: base)
        npm = try LoopbackServer { request in package.answer(request) }
        bridge = try LoopbackServer { request in FakeBridge.answer(request) }
        agentRegistry = try FakeAgentRegistry()
        try Self.upstream(at: base + "/git/" + Self.ejectable.repo, npm: Self.ejectable.npm, version: Self.ejectable.version)
        try Self.writeAgentConfig(stateDir: stateDir)

        let settings = try PlugindSettings(environment: [:], overrides: [
            ("stateDir", stateDir), ("catalogue", Self.sharedData("catalogue/milady-plugins.json")),
            ("pluginRegistryUrls", registry.baseURL + "/generated-registry.json"), ("npmRegistry", npm.baseURL + "/"),
            ("gitBaseUrl", "file://" + base + "/git/"), ("agentRegistryUrl", agentRegistry.url), ("publicUri", "https://agent.example.com"),
            ("runtimeBridge", bridge.baseURL), ("publicOrigins", "https://dashboard.plugind.test"), ("allowUnlistedPackages", "true"),
            ("autoRestart", "false"),
        ] + extra)
        wiring = try Wiring(settings: settings, logger: Logger(label: "api-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        let tokens = TokenStore(path: settings.tokensPath)
        adminToken = try tokens.create(role: .admin)
        readToken = try tokens.create(role: .read)
    }

    deinit {
        registry.stop()
        npm.stop()
        bridge.stop()
        agentRegistry.stop()
        try? FileManager.default.removeItem(atPath: base)
    }

    public enum Token {
        case admin, read, none
        case raw(String)
    }

    public struct Answer {
        public let status: Int
        public let headers: [(name: String, value: String)]
        public let body: [UInt8]

        public var json: JSONValue { (try? JSONParser.parse(body, maxDepth: 512)) ?? .null }
        public var error: String { json["error"]?.stringValue ?? "" }
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    /// One request as nginx hands it over: the front end's origin, JSON bodies typed as JSON unless `contentType` says.
    public func send(
        _ method: String, _ path: String, token: Token = .admin, json: JSONValue? = nil, body: [UInt8]? = nil,
        contentType: String? = nil, headers: [String: String] = [:]
    ) -> Answer {
        var all = headers
        switch token {
        case .admin: all["authorization"] = "Bearer " + adminToken
        case .read: all["authorization"] = "Bearer " + readToken
        case .raw(let value): all["authorization"] = value
        case .none: break
        }
        let bytes = body ?? json.map(JSONWriter.compactBytes) ?? []
        if !bytes.isEmpty || contentType != nil { all["content-type"] = contentType ?? "application/json" }
        let request = HTTPRequest(
            method: HTTPMethod(frontEnd: method)!, uri: "/api" + path, headers: all, body: bytes, remoteAddress: "127.0.0.1", origin: Self.origin)
        let response = wiring.gatekeeper.respond(to: request)
        return Answer(status: response.status.code, headers: response.headers, body: response.body)
    }

    /// A request that must reach `route` ("METHOD /pattern", as the route table names it) and answer `status`.
    /// Tests state what they cover this way: the route-coverage test reads these calls, and the route and status
    /// they name are checked here on every run, so a label cannot drift from what the test does.
    @discardableResult
    public func check(
        _ route: String, _ path: String, _ status: Int, token: Token = .admin, json: JSONValue? = nil, body: [UInt8]? = nil,
        contentType: String? = nil, headers: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Answer {
        let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
        let rawPath = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        if let segments = try? RequestPath.segments(of: rawPath), case .found(let found, _) = wiring.gatekeeper.router.match(method: HTTPMethod(parts[0])!, path: segments) {
            #expect(found.pattern == parts[1], "\(path) is \(found.method) \(found.pattern), not \(route)", sourceLocation: sourceLocation)
        } else {
            Issue.record("\(parts[0]) \(path) matches no route", sourceLocation: sourceLocation)
        }
        let answer = send(parts[0], path, token: token, json: json, body: body, contentType: contentType, headers: headers)
        #expect(answer.status == status, "\(route) \(path) answered \(answer.status): \(answer.text.prefix(400))", sourceLocation: sourceLocation)
        return answer
    }

    public var agentConfig: JSONValue {
        (try? JSONParser.parse(Array(FileManager.default.contents(atPath: stateDir + "/milady.json") ?? Data()), maxDepth: 512)) ?? .null
    }

    // MARK: - Fixtures

    public static func sharedData(_ path: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data/" + path).path
    }

    /// The real registry snapshot, plus two entries whose short name is the same ("twin"), so a name can be ambiguous.
    public static func registryDocument() throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: sharedData("registry/generated-registry.next.json")))
        guard var document = try JSONSerialization.jsonObject(with: data) as? [String: Any], var entries = document["registry"] as? [String: Any],
            let template = entries[ejectable.npm] as? [String: Any]
        else { throw CocoaError(.fileReadCorruptFile) }
        for twin in twins { entries[twin] = template }
        document["registry"] = entries
        return try JSONSerialization.data(withJSONObject: document)
    }

    /// Two installed packages with the same short name: "twin" names neither uniquely.
    public static let twins = ["@one/plugin-twin", "@two/plugin-twin"]

    /// The agent config: one plugin installed from npm (its tree on disk, as plugind installs it) and enabled.
    public static func writeAgentConfig(stateDir: String) throws {
        let directory = stateDir + "/plugins/installed/_elizaos_plugin-anthropic"
        let package = directory + "/node_modules/" + installed.npm
        try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
        try #"{"name":"\#(installed.npm)","version":"\#(installed.version)","main":"index.js"}"#.write(toFile: package + "/package.json", atomically: true, encoding: .utf8)
        try "module.exports = {};\n".write(toFile: package + "/index.js", atomically: true, encoding: .utf8)
        try #"{"name":"plugind-install","private":true,"dependencies":{"\#(installed.npm)":"\#(installed.version)"}}"#
            .write(toFile: directory + "/package.json", atomically: true, encoding: .utf8)
        let config = """
            {
              "plugins": {
                "allow": ["\(installed.npm)"],
                "installs": {
                  "\(installed.npm)": {"source": "npm", "spec": "\(installed.npm)", "installPath": "\(directory)", "version": "\(installed.version)", "installedAt": "2026-01-01T00:00:00.000Z"},
                  "\(ejectable.npm)": {"source": "npm", "spec": "\(ejectable.npm)", "installPath": "\(stateDir)/plugins/installed/_elizaos_plugin-acp", "version": "\(ejectable.version)", "installedAt": "2026-01-01T00:00:00.000Z"},
                  "\(twins[0])": {"source": "npm", "spec": "\(twins[0])", "installPath": "\(stateDir)/plugins/installed/_one_plugin-twin", "version": "1.0.0", "installedAt": "2026-01-01T00:00:00.000Z"},
                  "\(twins[1])": {"source": "npm", "spec": "\(twins[1])", "installPath": "\(stateDir)/plugins/installed/_two_plugin-twin", "version": "1.0.0", "installedAt": "2026-01-01T00:00:00.000Z"}
                },
                "entries": {"anthropic": {"enabled": true}}
              }
            }

            """
        try config.write(toFile: stateDir + "/milady.json", atomically: true, encoding: .utf8)
        chmod(stateDir + "/milady.json", 0o600)
    }

    /// A real git repository holding the plugin's package at the tag of its version.
    public static func upstream(at path: String, npm: String, version: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try #"{"name":"\#(npm)","version":"\#(version)","main":"index.js"}"#.write(toFile: path + "/package.json", atomically: true, encoding: .utf8)
        try "module.exports = {};\n".write(toFile: path + "/index.js", atomically: true, encoding: .utf8)
        for arguments in [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "release"], ["tag", "v" + version]] {
            try run("/usr/bin/git", ["-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"] + arguments, in: path)
        }
    }

    public static func run(_ executable: String, _ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": directory, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
    }
}

/// An npm registry publishing one package in two versions (`latest` the newer): its packument and real tarballs with
/// their sha512 integrity.
struct NpmPackage: Sendable {
    let name: String
    let version: String
    /// An older version, for an upgrade (install it first, then `latest`).
    static let older = "0.9.0"
    let tarballs: [String: [UInt8]]

    init(name: String, version: String, in base: String) throws {
        self.name = name
        self.version = version
        var tarballs: [String: [UInt8]] = [:]
        for each in [Self.older, version] {
            let root = base + "/npm-src/" + each
            try FileManager.default.createDirectory(atPath: root + "/package", withIntermediateDirectories: true)
            try #"{"name":"\#(name)","version":"\#(each)","main":"index.js"}"#.write(toFile: root + "/package/package.json", atomically: true, encoding: .utf8)
            try "module.exports = { name: 'fixture' };\n".write(toFile: root + "/package/index.js", atomically: true, encoding: .utf8)
            try World.run("/bin/tar", ["-czf", root + "/package.tgz", "package"], in: root)
            tarballs[each] = Array(try Data(contentsOf: URL(fileURLWithPath: root + "/package.tgz")))
        }
        self.tarballs = tarballs
    }

    func answer(_ request: LoopbackServer.Request) -> LoopbackServer.Reply {
        let path = request.path.removingPercentEncoding ?? request.path
        let host = request.header("host") ?? "127.0.0.1"
        if path == "/" + name {
            let versions = [Self.older, version].map { (each: String) -> String in
                let integrity = "sha512-" + Data(SHA512.hash(data: tarballs[each]!)).base64EncodedString()
                return """
                    "\(each)":{"name":"\(name)","version":"\(each)","main":"index.js",\
                    "dist":{"tarball":"http://\(host)/\(name)/-/fixture-\(each).tgz","integrity":"\(integrity)"}}
                    """
            }.joined(separator: ",")
            let packument = #"{"name":"\#(name)","dist-tags":{"latest":"\#(version)"},"versions":{\#(versions)}}"#
            return .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array(packument.utf8))
        }
        for each in [Self.older, version] where path == "/\(name)/-/fixture-\(each).tgz" { return .respond(status: 200, body: tarballs[each]!) }
        // The bulk advisories endpoint: no advisory for anything published here.
        if path == "/-/npm/v1/security/advisories/bulk" { return .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array("{}".utf8)) }
        return .respond(status: 404, headers: [("Content-Type", "application/json")], body: Array(#"{"error":"Not found"}"#.utf8))
    }
}

/// The agent host's runtime bridge (docs/runtime-bridge.md): the installed plugin is loaded; its check passes.
enum FakeBridge {
    static func answer(_ request: LoopbackServer.Request) -> LoopbackServer.Reply {
        let headers = [("Content-Type", "application/json"), ("X-Bridge-Protocol", "1")]
        switch (request.method, request.path) {
        case ("GET", "/v1/status"):
            let status = """
                {"protocol":1,"state":"running","pid":4242,"startedAt":"2026-01-01T00:00:00.000Z","plugins":[\
                {"package":"\(World.installed.npm)","pluginName":"anthropic","source":"installed","path":null,"loaded":true,"error":null}]}
                """
            return .respond(status: 200, headers: headers, body: Array(status.utf8))
        case ("POST", "/v1/plugins/check"):
            guard String(decoding: request.body, as: UTF8.self).contains(World.installed.npm) else {
                return .respond(status: 409, headers: headers, body: Array(#"{"error":"not loaded","code":"not_loaded"}"#.utf8))
            }
            return .respond(status: 200, headers: headers, body: Array(#"{"ok":true,"message":"connected","durationMs":3}"#.utf8))
        case ("POST", "/v1/restart"):
            return .respond(status: 202, headers: headers, body: Array(#"{"ok":true}"#.utf8))
        default:
            return .respond(status: 404, headers: headers, body: Array(#"{"error":"no such endpoint","code":"not_found"}"#.utf8))
        }
    }
}
