import Adapters
import JSON
import Testing
@testable import Runner

/// A registry in memory: packuments built from `name → [version: manifest fields]`.
struct Packuments {
    var documents: [String: Packument] = [:]
    var fetched: [String] = []

    mutating func add(_ name: String, _ versions: [String: JSONObject], latest: String? = nil) {
        var versionMembers = JSONObject()
        for (version, fields) in versions.sorted(by: { $0.key < $1.key }) {
            var manifest: JSONObject = ["name": .string(name), "version": .string(version),
                                        "dist": ["tarball": .string("https://registry.example/\(name)/-/\(version).tgz"), "integrity": "sha512-x"]]
            for member in fields { manifest[member.key] = member.value }
            versionMembers[version] = .object(manifest)
        }
        let tags: JSONValue = latest.map { ["latest": .string($0)] } ?? [:]
        documents[name] = try! Packument(json: ["name": .string(name), "versions": .object(versionMembers), "dist-tags": tags])
    }

    mutating func resolve(_ root: String, _ version: String, max: Int = 100) throws(InstallError) -> DependencyTree {
        var seen: [String] = []
        let documents = self.documents
        defer { fetched = seen }
        return try DependencyTree.resolve(
            project: [.init(name: root, spec: version, kind: .regular, optionalPeer: false)], known: [root: documents[root]!], maxPackages: max
        ) { name throws(InstallError) in
            seen.append(name)
            guard let document = documents[name] else { throw .notFound("The npm registry has no package named \(name).") }
            return document
        }
    }
}

func deps(_ pairs: [String: String], field: String = "dependencies") -> JSONObject {
    [field: .object(JSONObject(pairs.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) }))]
}

@Suite struct RegistrySpecTests {
    func isRegistry(_ spec: String) -> Bool {
        (try? DependencyTree.registrySpec(.init(name: "x", spec: spec, kind: .regular, optionalPeer: false), path: ["root", "x"])) != nil
    }

    /// npm-package-arg's registry specs: versions, ranges, dist-tags, and the empty spec (`*`).
    @Test(arguments: ["1.0.0", "^1.2.3", "~1.0.0", ">=1 <2", "1.x", "*", "", "latest", "next", "1.0.0 - 2.0.0", "=1.0.0", "v1.0.0",
                      "1.0.0 || ^2.0.0", "beta"])
    func registry(_ spec: String) {
        #expect(isRegistry(spec))
    }

    /// Everything npm would fetch from elsewhere, or take from the disk, or alias.
    @Test(arguments: ["git+file:///tmp/r.git", "git+https://h/r.git", "git://h/r.git", "git+ssh://git@h:r.git", "github:o/r",
                      "github:o/r#0123456789012345678901234567890123456789", "gitlab:o/r", "bitbucket:o/r", "gist:abc", "o/r", "o/r#main",
                      "https://h/x.tgz", "http://127.0.0.1/x.tgz", "file:../x", "file:x.tgz", "link:../x", "workspace:*", "workspace:^1.0.0",
                      "npm:@elizaos/core@1.0.0", "npm:evil", "./x", "../x", "/abs/x", "~/x", "x.tgz", "x.tar.gz", "git@github.com:o/r.git",
                      "C:\\x", "^1.0.0 foo"])
    func foreign(_ spec: String) {
        #expect(!isRegistry(spec))
    }

    @Test func theRefusalNamesThePathAndMasksCredentials() {
        do {
            _ = try DependencyTree.registrySpec(.init(name: "c", spec: "git+https://u:hunter2secret@h/r.git", kind: .regular, optionalPeer: false),
                                                path: ["@a/plugin-x", "b", "c"])
            Issue.record("not refused")
        } catch {
            guard case .dependencyRefused(let message, let path, let spec) = error else { Issue.record("\(error)"); return }
            #expect(path == ["@a/plugin-x", "b", "c"])
            #expect(message.contains("@a/plugin-x → b → c"))
            #expect(!(spec ?? "").contains("hunter2secret") && !message.contains("hunter2secret"))
        }
    }
}

@Suite struct DependencyTreeTests {
    @Test func aTreeIsWalkedBreadthFirstWithNpmsPicks() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "^1.0.0", "b": "2.x"])])
        registry.add("a", ["1.0.0": [:], "1.4.0": deps(["c": "~1.1.0"]), "2.0.0": [:]], latest: "1.4.0")
        registry.add("b", ["2.0.0": [:], "2.3.1": deps(["c": "1.1.0"])])
        registry.add("c", ["1.1.0": [:], "1.1.5": [:], "1.2.0": [:]])
        let tree = try registry.resolve("root", "1.0.0")
        #expect(tree.order == ["root@1.0.0", "a@1.4.0", "b@2.3.1", "c@1.1.5", "c@1.1.0"])
        #expect(tree.packages["c@1.1.0"]?.path == ["root", "b", "c"])
        // Each packument is fetched once.
        #expect(registry.fetched.sorted() == ["a", "b", "c"])
    }

    @Test func aCycleEnds() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "1.0.0"])])
        registry.add("a", ["1.0.0": deps(["root": "1.0.0"])])
        let tree = try registry.resolve("root", "1.0.0")
        #expect(tree.order == ["root@1.0.0", "a@1.0.0"])
    }

    @Test func shrinkwrapAndBundledDependenciesAreRefusedWithTheirPath() {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "1.0.0", "b": "1.0.0"])])
        registry.add("a", ["1.0.0": ["_hasShrinkwrap": true]])
        registry.add("b", ["1.0.0": ["bundleDependencies": ["x"]]])
        #expect(throws: InstallError.dependencyRefused(
            "a@1.0.0 ships an npm-shrinkwrap.json, so npm would take its dependencies from inside the tarball; plugind does not install it.",
            path: ["root", "a"], spec: nil)) { try registry.resolve("root", "1.0.0") }
        registry.add("a", ["1.0.0": ["_hasShrinkwrap": false]])
        do {
            _ = try registry.resolve("root", "1.0.0")
            Issue.record("bundled dependencies were accepted")
        } catch {
            guard case .dependencyRefused(let message, let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == ["root", "b"] && message.contains("bundles"))
        }
    }

    @Test func aMissingDependencyNamesItsPathButAMissingOptionalOneIsSkipped() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "1.0.0"]).merging(deps(["gone": "^1.0.0"], field: "optionalDependencies"))])
        registry.add("a", ["1.0.0": deps(["missing": "^1.0.0"])])
        do {
            _ = try registry.resolve("root", "1.0.0")
            Issue.record("a missing dependency was accepted")
        } catch {
            guard case .dependencyRefused(let message, let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == ["root", "a", "missing"])
            #expect(message == "The npm registry has no package named missing (required by root → a).")
        }
        registry.add("a", ["1.0.0": [:]])
        #expect(try registry.resolve("root", "1.0.0").order == ["root@1.0.0", "a@1.0.0"])
    }

    @Test func optionalDependenciesForAnotherPlatformAreSkipped() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["mac-only": "1.0.0", "linux-only": "1.0.0"], field: "optionalDependencies")])
        registry.add("mac-only", ["1.0.0": ["os": ["darwin"]]])
        registry.add("linux-only", ["1.0.0": ["os": ["linux"]]])
        let tree = try registry.resolve("root", "1.0.0")
        #expect(tree.order == ["root@1.0.0", "linux-only@1.0.0"])
        #expect(tree.packages["root@1.0.0"]?.optional == false)
        #expect(tree.packages["linux-only@1.0.0"]?.optional == true)
    }

    @Test func tooManyPackagesNamesTheSetting() {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "1.0.0", "b": "1.0.0"])])
        registry.add("a", ["1.0.0": [:]])
        registry.add("b", ["1.0.0": [:]])
        do {
            _ = try registry.resolve("root", "1.0.0", max: 2)
            Issue.record("the limit was not applied")
        } catch {
            #expect(error.description.contains("maxTreePackages"))
        }
    }

    @Test func optionalPeersAreNotInstalledAndRequiredPeersAre() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["core": "^1.0.0", "maybe": "1.0.0"], field: "peerDependencies")
            .merging(["peerDependenciesMeta": ["maybe": ["optional": true]]])])
        registry.add("core", ["1.0.0": [:]])
        let tree = try registry.resolve("root", "1.0.0")
        #expect(tree.order == ["root@1.0.0", "core@1.0.0"])
    }
}

@Suite struct CheckoutDependencyTests {
    /// An ejected checkout is built: its devDependencies are installed too, after its own dependencies.
    @Test func devDependenciesCountForACheckout() throws {
        let manifest = try JSONParser.parse(Array(#"{"dependencies": {"a": "^1"}, "devDependencies": {"typescript": "^5", "a": "^1"}, "peerDependencies": {"p": "1"}}"#.utf8), maxDepth: 8)
        #expect(Packument.checkoutDependencies(of: manifest).map(\.name) == ["a", "p", "typescript"])
        #expect(Packument.checkoutDependencies(of: manifest).map(\.kind) == [.regular, .peer, .regular])
    }
}

@Suite struct TreeLayoutTests {
    @Test func versionsAreHoistedAndConflictsNested() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["shared": "^2.0.0", "old": "1.0.0", "peerer": "1.0.0"])])
        registry.add("shared", ["1.0.0": [:], "2.0.0": [:]])
        registry.add("old", ["1.0.0": deps(["shared": "^1.0.0", "deep": "1.0.0"])])
        registry.add("deep", ["1.0.0": deps(["shared": "^1.0.0"])])
        registry.add("peerer", ["1.0.0": deps(["p": "1.0.0"], field: "peerDependencies")])
        registry.add("p", ["1.0.0": [:]])
        let layout = try TreeLayout(tree: registry.resolve("root", "1.0.0"))
        #expect(layout.locations == [
            "node_modules/root": "root@1.0.0",
            "node_modules/shared": "shared@2.0.0",
            "node_modules/old": "old@1.0.0",
            "node_modules/old/node_modules/shared": "shared@1.0.0",
            "node_modules/deep": "deep@1.0.0",
            "node_modules/deep/node_modules/shared": "shared@1.0.0",
            "node_modules/peerer": "peerer@1.0.0",
            "node_modules/p": "p@1.0.0",
        ])
    }

    @Test func theLockfileNamesEveryVerifiedTarball() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "1.0.0"]).merging(["bin": ["root-cli": "cli.js"]])])
        registry.add("a", ["1.0.0": [:]])
        let tree = try registry.resolve("root", "1.0.0")
        let layout = try TreeLayout(tree: tree)
        let lock = try JSONEncoding.value(Lockfile.document(
            tree: tree, layout: layout, tarballs: ["root@1.0.0": "/t/0.tgz", "a@1.0.0": "/t/1.tgz"], integrity: ["root@1.0.0": "sha512-r", "a@1.0.0": "sha512-a"]))
        #expect(lock["lockfileVersion"] == 3)
        #expect(lock["packages"]?[""]?["dependencies"]?["root"] == "1.0.0")
        #expect(lock["packages"]?["node_modules/root"]?["resolved"] == "file:/t/0.tgz")
        #expect(lock["packages"]?["node_modules/root"]?["bin"]?["root-cli"] == "cli.js")
        #expect(lock["packages"]?["node_modules/a"]?["integrity"] == "sha512-a")
        #expect(lock["packages"]?["node_modules/root"]?["dependencies"]?["a"] == "1.0.0")
    }
}

extension JSONObject {
    func merging(_ other: JSONObject) -> JSONObject {
        var out = self
        for member in other { out[member.key] = member.value }
        return out
    }
}
