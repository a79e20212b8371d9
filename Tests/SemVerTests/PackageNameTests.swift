import Testing
@testable import SemVer

@Suite("PackageName")
struct PackageNameTests {
    /// Names validate-npm-package-name accepts for new packages are accepted, scoped or not, up to 214 characters.
    @Test(arguments: [
        "some-package", "example.com", "under_score", "period.js", "123numeric", "a", "plugin-sql", "a..b",
        "@npm/thingy", "@jane/foo.js", "@elizaos/plugin-openai", "@a/b", "@scope/http", "x-.-_",
        String(repeating: "a", count: 214), "@s/" + String(repeating: "a", count: 211),
    ])
    func validNewNames(name: String) {
        #expect(PackageName.isValidForNewPackages(name))
        #expect(PackageName.problems(name).isEmpty)
        #expect(PackageName.isLegacyName(name) || name.contains(".."))
    }

    /// Names refused for new packages: empty, leading `.`/`_`, spaces, capitals, `~)('!*`, non-URL-safe characters,
    /// extra slashes, malformed scopes, core module names, `node_modules`/`favicon.ico`, over 214 characters — and,
    /// stricter than validate-npm-package-name 5, a scope or a scoped name breaking the same rules on its own.
    @Test(arguments: [
        "", ".start-with-period", "_start-with-underscore", "contain:colons", " leading-space", "trailing-space ",
        "s/l/a/s/h/e/s", "node_modules", "NODE_MODULES", "favicon.ico", "http", "fs", "worker_threads", "HTTP",
        "CAPITAL-LETTERS", "JSONStream", "crazy!", "~tilde", "paren(s)", "star*", "quote'", "a b", "a\u{0}b", "a\nb",
        "é", "a%20b", "a+b", "a@b", "a#b", "a?b", "@npm-zors/money!time.js", "@", "@scope", "@scope/", "@/name",
        "@a/b/c", "@a//b", "/a", "a/", String(repeating: "a", count: 215), "@s/" + String(repeating: "a", count: 212),
        "@.scope/x", "@_scope/x", "@scope/.x", "@scope/_x", "@sc!ope/x", "@sc ope/x", "@scope/node_modules",
    ])
    func invalidNewNames(name: String) {
        #expect(!PackageName.isValidForNewPackages(name))
        #expect(!PackageName.problems(name).isEmpty)
    }

    /// Legacy names (from before npm's current rules): capitals, `~'!()*` and core module names pass.
    @Test(arguments: ["CAPITAL-LETTERS", "JSONStream", "Base64", "crazy!", "paren(s)", "http", "@Scope/Name", "@scope/Plugin-X"])
    func legacyNames(name: String) {
        #expect(PackageName.isLegacyName(name))
        #expect(!PackageName.isValidForNewPackages(name))
    }

    /// Legacy names still refuse anything unsafe as a path or a URL: `..`, extra `/`, control characters, NUL,
    /// spaces, non-ASCII, leading `.`/`_`, over 214 characters.
    @Test(arguments: [
        "", ".x", "_x", " x", "x ", "a b", "a\u{0}b", "a\u{7F}b", "a\tb", "a/b", "@a/b/c", "../x", "A..b", "..",
        String(repeating: "X", count: 215), "node_modules", "Favicon.ico", "@s/.X", "@_s/X", "É", "a%2fb", "a:b", "@/x",
    ])
    func invalidLegacyNames(name: String) {
        #expect(!PackageName.isLegacyName(name))
    }

    /// The problems read like validate-npm-package-name's messages.
    @Test func messages() {
        #expect(PackageName.problems("") == ["name length must be greater than zero"])
        #expect(PackageName.problems(".Foo").contains("name cannot start with a period"))
        #expect(PackageName.problems(".Foo").contains("name can no longer contain capital letters"))
        #expect(PackageName.problems("fs") == ["fs is a core module name"])
        #expect(PackageName.problems("a b") == ["name can only contain URL-friendly characters"])
        #expect(PackageName.problems("crazy!") == ["name can no longer contain special characters (\"~'!()*\")"])
    }

    /// Scoped names split into scope and name; malformed ones do not split.
    @Test func components() {
        #expect(PackageName.components("@scope/name")! == ("scope", "name"))
        #expect(PackageName.components("plain")! == (nil, "plain"))
        #expect(PackageName.components("@scope") == nil)
        #expect(PackageName.components("a/b") == nil)
        #expect(PackageName.components("@/b") == nil)
    }

    /// The core-module list is node's `builtinModules` (bare names only).
    @Test func builtins() {
        for name in ["assert", "buffer", "child_process", "crypto", "events", "fs", "http", "net", "os", "path", "stream", "url", "util", "zlib"] {
            #expect(PackageName.nodeBuiltinModules.contains(name))
        }
        #expect(!PackageName.nodeBuiltinModules.contains("express"))
    }
}
