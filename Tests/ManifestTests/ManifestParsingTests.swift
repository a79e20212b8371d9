import Install
import JSON
import Manifest
import Testing

@Suite struct ManifestParsingTests {
    static let tree = "@acme/plugin-x@1.2.0@sha512-AAAA"

    static func parse(_ text: String) throws -> Manifest {
        try Manifest(parsing: try JSONParser.parse(text))
    }

    static func refusal(_ text: String) -> (field: String, kind: String)? {
        do {
            _ = try parse(text)
            return nil
        } catch let error as ManifestError {
            guard case .malformed(let field, _) = error else { return (field: "", kind: "\(error.kind)") }
            return (field, "\(error.kind)")
        } catch {
            return ("", "parse")
        }
    }

    /// A whole manifest reads back into the same values, and writes the same bytes again.
    @Test func roundTrip() throws {
        let text = """
            {"manifestVersion": 1,
             "packages": {"@acme/plugin-x": {"version": "1.2.0", "tree": ["dep@1.0.0@sha512-BBBB", "\(Self.tree)"]}},
             "ejected": {"@acme/plugin-y": {"gitUrl": "https://example.com/y.git", "branch": "main", "commit": "0123456789abcdef"}},
             "plugins": {"@acme/plugin-x": {"enabled": true}, "@elizaos/plugin-discord": {"enabled": false}},
             "settings": {"X_MODE": "fast"}, "secrets": ["X_API_KEY"]}
            """
        let manifest = try Self.parse(text)
        #expect(manifest.packages["@acme/plugin-x"]?.version == "1.2.0")
        #expect(manifest.packages["@acme/plugin-x"]?.tree?.count == 2)
        #expect(manifest.ejected["@acme/plugin-y"]?.commit == "0123456789abcdef")
        #expect(manifest.plugins == ["@acme/plugin-x": true, "@elizaos/plugin-discord": false])
        #expect(manifest.settings == ["X_MODE": "fast"])
        #expect(manifest.secrets == ["X_API_KEY"])
        let again = try Manifest(parsing: try JSONParser.parse(manifest.bytes))
        #expect(again == manifest)
        #expect(again.bytes == manifest.bytes)
    }

    /// The bytes are sorted at every level, indented by two spaces, and end with one newline.
    @Test func byteStable() throws {
        var manifest = Manifest()
        manifest.settings = ["B_SETTING": "2", "A_SETTING": "1"]
        manifest.plugins = ["z-plugin": true, "a-plugin": false]
        manifest.secrets = ["Z_KEY", "A_KEY"]
        let text = String(decoding: manifest.bytes, as: UTF8.self)
        #expect(text == """
            {
              "ejected": {},
              "manifestVersion": 1,
              "packages": {},
              "plugins": {
                "a-plugin": {
                  "enabled": false
                },
                "z-plugin": {
                  "enabled": true
                }
              },
              "secrets": [
                "A_KEY",
                "Z_KEY"
              ],
              "settings": {
                "A_SETTING": "1",
                "B_SETTING": "2"
              }
            }

            """)
    }

    /// Each malformed member is refused as a 400 naming it.
    @Test(arguments: [
        ("[]", "(root)"),
        ("{}", "manifestVersion"),
        (#"{"manifestVersion": 2}"#, "manifestVersion"),
        (#"{"manifestVersion": "1"}"#, "manifestVersion"),
        (#"{"manifestVersion": 1, "extra": 1}"#, "extra"),
        (#"{"manifestVersion": 1, "packages": []}"#, "packages"),
        (#"{"manifestVersion": 1, "packages": {"Bad Name": {"version": "1.0.0"}}}"#, "packages.Bad Name"),
        (#"{"manifestVersion": 1, "packages": {"x": {"version": "^1.0.0"}}}"#, "packages.x.version"),
        (#"{"manifestVersion": 1, "packages": {"x": {}}}"#, "packages.x.version"),
        (#"{"manifestVersion": 1, "packages": {"x": {"version": "1.0.0", "spec": "x"}}}"#, "packages.x.spec"),
        (#"{"manifestVersion": 1, "packages": {"x": {"version": "1.0.0", "tree": ["nonsense"]}}}"#, "packages.x.tree[0]"),
        (#"{"manifestVersion": 1, "packages": {"x": {"version": "1.0.0", "tree": ["y@1.0.0@sha512-A"]}}}"#, "packages.x.tree"),
        (#"{"manifestVersion": 1, "plugins": {"x": {"enabled": "yes"}}}"#, "plugins.x.enabled"),
        (#"{"manifestVersion": 1, "plugins": {"x": true}}"#, "plugins.x"),
        (#"{"manifestVersion": 1, "settings": {"X": 1}}"#, "settings.X"),
        (#"{"manifestVersion": 1, "settings": {"1X": "a"}}"#, "settings.1X"),
        (#"{"manifestVersion": 1, "secrets": ["A", "A"]}"#, "secrets[1]"),
        (#"{"manifestVersion": 1, "settings": {"A": "v"}, "secrets": ["A"]}"#, "secrets[0]"),
        (#"{"manifestVersion": 1, "ejected": {"x": {"commit": "zz"}}}"#, "ejected.x.commit"),
    ])
    func malformed(text: String, field: String) {
        let refusal = Self.refusal(text)
        #expect(refusal?.field == field, "\(text)")
        #expect(refusal?.kind == "badRequest", "\(text)")
    }

    /// `name@version@integrity` reads scoped and unscoped names; anything else is not a tree entry.
    @Test func pinnedPackages() {
        #expect(PinnedPackage(parsing: "@a/b@1.0.0@sha512-x") == PinnedPackage(name: "@a/b", version: "1.0.0", integrity: "sha512-x"))
        #expect(PinnedPackage(parsing: "b@1.0.0@sha1-y") == PinnedPackage(name: "b", version: "1.0.0", integrity: "sha1-y"))
        #expect(PinnedPackage(parsing: "b@1.0.0") == nil)
        #expect(PinnedPackage(parsing: "@1.0.0@sha512-x") == nil)
    }
}
