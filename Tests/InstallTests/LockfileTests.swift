import JSON
import Testing
@testable import Runner

@Suite struct LockfileTests {
    /// The staging project's package.json and package-lock.json, byte for byte.
    @Test func fileBytes() throws {
        var registry = Packuments()
        registry.add("root", ["1.0.0": deps(["a": "^1.0.0", "b": "1.0.0"])
            .merging(deps(["o": "1.0.0"], field: "optionalDependencies"))
            .merging(["bin": ["root-cli": "cli.js"]])])
        registry.add("a", ["1.0.0": deps(["p": "1.0.0"], field: "peerDependencies")])
        registry.add("b", ["1.0.0": ["bin": "b.js"]])
        registry.add("o", ["1.0.0": [:]])
        registry.add("p", ["1.0.0": [:]])
        let tree = try registry.resolve("root", "1.0.0")
        let layout = try TreeLayout(tree: tree)
        let tarballs = Dictionary(uniqueKeysWithValues: tree.packages.keys.map { ($0, "/t/\($0).tgz") })
        let lock = Lockfile.document(tree: tree, layout: layout, tarballs: tarballs, integrity: ["root@1.0.0": "sha512-r", "a@1.0.0": "sha512-a"])
        #expect(fileText(lock) == """
            {
              "name": "plugind-install",
              "lockfileVersion": 3,
              "requires": true,
              "packages": {
                "": {
                  "name": "plugind-install",
                  "dependencies": {
                    "root": "1.0.0"
                  }
                },
                "node_modules/a": {
                  "version": "1.0.0",
                  "resolved": "file:/t/a@1.0.0.tgz",
                  "integrity": "sha512-a",
                  "peerDependencies": {
                    "p": "1.0.0"
                  }
                },
                "node_modules/b": {
                  "version": "1.0.0",
                  "resolved": "file:/t/b@1.0.0.tgz",
                  "bin": "b.js"
                },
                "node_modules/o": {
                  "version": "1.0.0",
                  "resolved": "file:/t/o@1.0.0.tgz",
                  "optional": true
                },
                "node_modules/p": {
                  "version": "1.0.0",
                  "resolved": "file:/t/p@1.0.0.tgz"
                },
                "node_modules/root": {
                  "version": "1.0.0",
                  "resolved": "file:/t/root@1.0.0.tgz",
                  "integrity": "sha512-r",
                  "dependencies": {
                    "a": "^1.0.0",
                    "b": "1.0.0"
                  },
                  "optionalDependencies": {
                    "o": "1.0.0"
                  },
                  "bin": {
                    "root-cli": "cli.js"
                  }
                }
              }
            }

            """)
        #expect(fileText(manifest(tree)) == """
            {
              "name": "plugind-install",
              "private": true,
              "description": "Managed by plugind.",
              "dependencies": {
                "root": "1.0.0"
              }
            }

            """)
    }

    func fileText(_ value: some Encodable) -> String { JSONWriter.pretty(try! JSONEncoding.value(value)) + "\n" }
    func manifest(_ tree: DependencyTree) -> ProjectManifest { Lockfile.projectManifest(tree) }
}
