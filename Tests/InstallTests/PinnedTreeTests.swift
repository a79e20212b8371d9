import Crypto
import Foundation
import Install
import JSON
import Runner
import TestSupport
import TestWorld
import Testing

/// The tree an install checked (core compatibility, deprecations, advisories) is the tree it installs: a
/// dependency version published between the check and the install's own walk is refused, not installed unchecked.
@Suite struct PinnedTreeTests {
    static let plugin = "@acme/plugin-pinned"
    static let dependency = "pinned-dependency"

    /// An npm registry publishing the plugin 1.0.0 (depending on `pinned-dependency@^1.0.0`) and the dependency,
    /// with real tarballs; the dependency's 1.0.1 appears from the second time its packument is asked for on.
    final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var dependencyFetches = 0
        var tarballs: [String: [UInt8]] = [:]
        var server: LoopbackServer!

        init(base: String) throws {
            tarballs["\(PinnedTreeTests.plugin)@1.0.0"] = try Self.pack(
                #"{"name":"\#(PinnedTreeTests.plugin)","version":"1.0.0","main":"index.js","dependencies":{"\#(PinnedTreeTests.dependency)":"^1.0.0"}}"#,
                in: base + "/plugin")
            for version in ["1.0.0", "1.0.1"] {
                tarballs["\(PinnedTreeTests.dependency)@\(version)"] = try Self.pack(
                    #"{"name":"\#(PinnedTreeTests.dependency)","version":"\#(version)","main":"index.js"}"#, in: base + "/dependency-" + version)
            }
            server = try LoopbackServer { [unowned self] request in self.answer(request) }
        }

        static func pack(_ manifest: String, in directory: String) throws -> [UInt8] {
            try FileManager.default.createDirectory(atPath: directory + "/package", withIntermediateDirectories: true)
            try manifest.write(toFile: directory + "/package/package.json", atomically: true, encoding: .utf8)
            try "module.exports = {};\n".write(toFile: directory + "/package/index.js", atomically: true, encoding: .utf8)
            try World.run("/bin/tar", ["-czf", directory + "/package.tgz", "package"], in: directory)
            return Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/package.tgz")))
        }

        func packument(_ name: String, versions: [String], dependencies: String, host: String) -> String {
            let entries = versions.map { version in
                let integrity = "sha512-" + Data(SHA512.hash(data: tarballs["\(name)@\(version)"]!)).base64EncodedString()
                return #""\#(version)":{"name":"\#(name)","version":"\#(version)","dependencies":\#(dependencies),"dist":{"tarball":"http://\#(host)/tarballs/\#(name)@\#(version).tgz","integrity":"\#(integrity)"}}"#
            }
            return #"{"name":"\#(name)","dist-tags":{"latest":"\#(versions.last!)"},"versions":{\#(entries.joined(separator: ","))}}"#
        }

        func answer(_ request: LoopbackServer.Request) -> LoopbackServer.Reply {
            let path = request.path.removingPercentEncoding ?? request.path
            let host = request.header("host") ?? "127.0.0.1"
            let json = [("Content-Type", "application/json")]
            switch path {
            case "/" + PinnedTreeTests.plugin:
                let body = packument(PinnedTreeTests.plugin, versions: ["1.0.0"], dependencies: #"{"\#(PinnedTreeTests.dependency)":"^1.0.0"}"#, host: host)
                return .respond(status: 200, headers: json, body: Array(body.utf8))
            case "/" + PinnedTreeTests.dependency:
                let fetch = lock.withLock {
                    dependencyFetches += 1
                    return dependencyFetches
                }
                let versions = fetch == 1 ? ["1.0.0"] : ["1.0.0", "1.0.1"]
                return .respond(status: 200, headers: json, body: Array(packument(PinnedTreeTests.dependency, versions: versions, dependencies: "{}", host: host).utf8))
            default:
                let prefix = "/tarballs/"
                if path.hasPrefix(prefix), path.hasSuffix(".tgz"), let tarball = lock.withLock({ tarballs[String(path.dropFirst(prefix.count).dropLast(4))] }) {
                    return .respond(status: 200, body: tarball)
                }
                return .respond(status: 404, headers: json, body: Array(#"{"error":"Not found"}"#.utf8))
            }
        }
    }

    /// The check sees pinned-dependency 1.0.0; by the time the installer walks the tree, 1.0.1 is published and
    /// `^1.0.0` takes it. The install is refused as a conflict naming both versions, and nothing changes.
    @Test func aDependencyPublishedAfterTheCheckIsRefused() throws {
        let base = NSTemporaryDirectory() + "plugind-pinned-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        let registry = try Registry(base: base)
        defer { registry.server.stop() }
        let world = try World(settings: [("npmRegistry", registry.server.baseURL + "/")])
        let before = world.agentConfig

        #expect {
            _ = try world.wiring.install.install(name: Self.plugin, version: "1.0.0", enable: true, operationId: nil, requestId: nil)
        } throws: { error in
            guard case InstallError.conflict(let message) = error else { return false }
            return message.contains("now brings \(Self.dependency)@1.0.1") && message.contains("no longer \(Self.dependency)@1.0.0")
                && message.contains("install again")
        }
        #expect(world.agentConfig == before)
        #expect(!FileManager.default.fileExists(atPath: world.stateDir + "/plugins/installed/_acme_plugin-pinned"))
        #expect(registry.lock.withLock { registry.dependencyFetches } == 2)

        // Asked again, the check sees 1.0.1 and the installer finds the same tree: it is installed.
        let result = try world.wiring.install.install(name: Self.plugin, version: "1.0.0", enable: true, operationId: nil, requestId: nil)
        let installed = result.plugin.installPath + "/node_modules/\(Self.dependency)/package.json"
        let manifest = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: installed))), maxDepth: 8)
        #expect(manifest["version"]?.stringValue == "1.0.1")
    }
}
