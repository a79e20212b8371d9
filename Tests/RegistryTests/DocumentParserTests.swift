import JSON
import Testing
@testable import Registry

private func parse(_ text: String, _ parser: RegistryDocumentParser = RegistryDocumentParser()) throws -> RegistryDocument {
    try parser.parse(Array(text.utf8))
}

private func refusal(_ bytes: [UInt8], _ parser: RegistryDocumentParser = RegistryDocumentParser()) -> String? {
    do {
        _ = try parser.parse(bytes)
        return nil
    } catch {
        return error.description
    }
}

@Suite struct DocumentParserTests {
    /// The real `next` snapshot: all 290 entries read, none skipped, with the fields eject and install need.
    @Test func realSnapshot() throws {
        let document = try RegistryDocumentParser().parse(try sharedBytes(realRegistryPath))
        #expect(document.format == .full)
        #expect(document.entries.count == 290)
        #expect(document.skipped == 0)
        #expect(document.lastUpdatedAt == "2026-02-09T02:30:56.148Z")
        let byName = Dictionary(uniqueKeysWithValues: document.entries.map { ($0.name, $0) })

        let openai = try #require(byName["@elizaos/plugin-openai"])
        #expect(openai.displayName == "Openai")
        #expect(openai.npmPackage == "@elizaos/plugin-openai")
        #expect(openai.version == "1.6.0" && openai.versionChannel == "v1")
        #expect(openai.channels.map(\.name) == ["v0", "v1", "v2"])
        #expect(openai.channel("v2")?.npmVersion == "2.0.0-alpha.4")
        #expect(openai.channel("v1")?.gitVersion == "v1.6.1")
        #expect(openai.channel("v1")?.gitBranch == "1.x")
        #expect(openai.channel("v1")?.coreRange == "^1.7.0")
        #expect(openai.gitRepo == "elizaos-plugins/plugin-openai")
        #expect(openai.repository == "https://github.com/elizaos-plugins/plugin-openai")
        #expect(openai.author == "elizaos-plugins")
        #expect(openai.kind == "plugin")
        #expect(openai.stars == 4)

        let mattermost = try #require(byName["@bealers/plugin-mattermost"])
        #expect(mattermost.description == "")
        #expect(mattermost.author == "bealers")
        #expect(mattermost.version == "0.5.1")

        let attps = try #require(byName["@elizaos/plugin-ATTPs"])
        #expect(attps.displayName == "ATTPs")
        #expect(attps.version == nil && attps.versionChannel == nil)
        #expect(attps.gitRepo == "APRO-com/plugin-ATTPs")

        #expect(byName["@elizaos/app-hyperfy"]?.kind == "app")
        #expect(byName["@elizaos/client-twitter-api-access"]?.tags == ["ai", "elizaos-plugins", "twitter-bot", "web3"])
        #expect(byName["plugin-octav"]?.npmPackage == "plugin-octav")
        #expect(byName["@elizaos-plugins/plugin-google-chat"] == nil)
        // Sorted by name ignoring case.
        let names = document.entries.map { $0.name.lowercased() }
        #expect(names == names.sorted())
    }

    /// `index.json` (`name → "github:owner/repo"`): 292 bare entries with their repositories and owners.
    @Test func realIndex() throws {
        let document = try RegistryDocumentParser().parse(try sharedBytes(realIndexPath))
        #expect(document.format == .index)
        #expect(document.entries.count == 292)
        #expect(document.skipped == 0)
        let scape = try #require(document.entries.first { $0.name == "@elizaos/app-2004scape" })
        #expect(scape.gitRepo == "elizaOS/eliza-2004scape")
        #expect(scape.repository == "https://github.com/elizaOS/eliza-2004scape")
        #expect(scape.author == "elizaOS")
        #expect(scape.kind == "app")
        #expect(scape.version == nil)
        #expect(scape.npmPackage == "@elizaos/app-2004scape")
        #expect(scape.displayName == "2004scape")
    }

    /// The registry-v2 envelope and its entries: origin, support, kind, app metadata, directory, branch-only git channels.
    @Test func registryV2Envelope() throws {
        let document = try parse(
            """
            {"schemaVersion": "registry-v2", "lastUpdatedAt": "2026-05-01T00:00:00.000Z",
             "generatedFrom": {"builtinRepo": "github:elizaos/eliza"},
             "counts": {"total": 3, "builtin": 2, "thirdParty": 1, "app": 1, "connector": 0, "plugin": 2},
             "registry": {
               "@elizaos/plugin-openai": {"origin": "builtin", "source": "builtin", "support": "first-party", "builtIn": true,
                 "status": "active", "kind": "plugin", "registryKind": "plugin", "directory": "plugins/plugin-openai",
                 "git": {"repo": "elizaos/eliza", "v0": {"version": null, "branch": null}, "v2": {"version": "2.0.0-beta.1", "branch": "main"}},
                 "npm": {"repo": "@elizaos/plugin-openai", "v0": null, "v1": null, "v2": "2.0.0-beta.1", "v2CoreRange": "workspace:*"},
                 "supports": {"v0": false, "v1": false, "v2": true}, "description": "OpenAI models", "homepage": "https://github.com/elizaos/eliza",
                 "topics": ["ai-provider", "built-in"], "stargazers_count": 0, "language": "TypeScript"},
               "@elizaos/app-babylon": {"origin": "builtin", "support": "first-party", "kind": "app",
                 "git": {"repo": "elizaos/eliza", "v2": {"branch": "main"}}, "npm": {"repo": "@elizaos/app-babylon", "v2": "2.0.0-beta.3"},
                 "supports": {"v2": true}, "app": {"displayName": "Babylon", "category": "game", "launchType": "url", "capabilities": ["play"]}},
               "@1claw/plugin-elizaos": {"origin": "third-party", "source": "community", "support": "community", "kind": "connector",
                 "directory": null, "git": {"repo": "1clawAI/1claw-elizaos-plugin", "v2": {"branch": "main"}},
                 "npm": {"repo": "@1claw/plugin-elizaos", "v2": "0.1.0"}, "supports": {"v2": true}, "description": "Secrets"}
             }}
            """)
        #expect(document.schemaVersion == "registry-v2")
        #expect(document.warnings.isEmpty)
        #expect(document.entries.count == 3 && document.skipped == 0)
        let openai = try #require(document.entries.first { $0.name == "@elizaos/plugin-openai" })
        #expect(openai.origin == "builtin" && openai.support == "first-party")
        #expect(openai.directory == "plugins/plugin-openai")
        #expect(openai.version == "2.0.0-beta.1" && openai.versionChannel == "v2")
        #expect(openai.channel("v2")?.gitBranch == "main")
        #expect(openai.homepage == "https://github.com/elizaos/eliza")
        let babylon = try #require(document.entries.first { $0.name == "@elizaos/app-babylon" })
        #expect(babylon.kind == "app" && babylon.displayName == "Babylon")
        #expect(babylon.app?["category"] == "game")
        #expect(babylon.channel("v2")?.gitVersion == nil)
        let claw = try #require(document.entries.first { $0.name == "@1claw/plugin-elizaos" })
        #expect(claw.kind == "connector" && claw.directory == nil && claw.author == "1clawAI")
    }

    /// A `counts.total` that disagrees with the entries is a warning, not a refusal.
    /// A channel named like one of the answer's own `git` members (`repo`, `v1Branch`, …) is no channel: it would be
    /// written into that object twice, and an entry read back from its answer would take the wrong one.
    @Test func channelNamesOfGitsOwnMembersAreRefused() throws {
        let document = try parse(#"""
            {"registry": {"@acme/plugin-x": {
              "git": {"repo": "acme/plugin-x", "v1": {"version": "v1.0.0", "branch": "1.x"}, "v1Branch": {"version": "v9.0.0", "branch": "9.x"}},
              "npm": {"repo": "@acme/plugin-x", "v1": "1.0.0", "v1Branch": "9.0.0", "v2Branch": "9.1.0"}}}}
            """#)
        let entry = try #require(document.entries.first)
        #expect(entry.channels.map(\.name) == ["v1"])
        #expect(entry.channel("v1")?.gitBranch == "1.x")
    }

    @Test func countsMismatchWarns() throws {
        let document = try parse(#"{"schemaVersion": "registry-v2", "counts": {"total": 5}, "registry": {"a": {"description": "x"}}}"#)
        #expect(document.entries.count == 1)
        #expect(document.warnings.count == 1)
    }

    /// Nulls and wrong types anywhere count as missing; the entry is kept with defaults.
    @Test func wrongTypesEverywhere() throws {
        let document = try parse(
            """
            {"lastUpdatedAt": 7, "registry": {
              "@x/plugin-nulls": {"git": null, "npm": null, "supports": null, "description": null, "homepage": null, "topics": null,
                "stargazers_count": null, "language": null, "kind": null, "app": null, "directory": null, "author": null},
              "@x/plugin-wrong": {"git": 5, "npm": "1.0.0", "supports": [true], "description": 7, "homepage": "ftp://x", "topics": "ai",
                "stargazers_count": "many", "language": {}, "kind": 3, "app": [], "author": false},
              "@x/plugin-inner": {"git": {"repo": 4, "v1": "main", "v2": {"version": 2, "branch": ["main"]}},
                "npm": {"repo": {}, "v1": 1, "v2": "2.0.0", "v2CoreRange": 5, "weird channel!": "1.0.0"},
                "supports": {"v1": "yes", "v2": true}, "topics": ["ai", 4, null, "AI", {"a": 1}], "stargazers_count": -3.7},
              "@x/plugin-float": {"description": "ok", "stargazers_count": 12.9}
            }}
            """)
        #expect(document.skipped == 0)
        #expect(document.lastUpdatedAt == nil)
        let byName = Dictionary(uniqueKeysWithValues: document.entries.map { ($0.name, $0) })
        let nulls = try #require(byName["@x/plugin-nulls"])
        #expect(nulls.description == "" && nulls.tags.isEmpty && nulls.stars == 0 && nulls.channels.isEmpty)
        #expect(nulls.author == "x" && nulls.gitRepo == nil && nulls.repository == nil && nulls.kind == "plugin")
        let wrong = try #require(byName["@x/plugin-wrong"])
        #expect(wrong.description == "" && wrong.homepage == nil && wrong.tags.isEmpty && wrong.stars == 0)
        #expect(wrong.language == nil && wrong.kind == "plugin" && wrong.app == nil && wrong.channels.isEmpty)
        let inner = try #require(byName["@x/plugin-inner"])
        #expect(inner.npmPackage == "@x/plugin-inner")
        #expect(inner.channels.map(\.name) == ["v2"])
        #expect(inner.channel("v2") == RegistryChannel(name: "v2", npmVersion: "2.0.0", supported: true))
        #expect(inner.version == "2.0.0")
        #expect(inner.tags == ["ai"])
        #expect(inner.stars == 0)
        #expect(byName["@x/plugin-float"]?.stars == 12)
    }

    /// Entries that cannot be understood are skipped and counted, with a reason each; the rest still read.
    @Test func unusableEntriesAreSkipped() throws {
        let document = try parse(
            """
            {"registry": {
              "@ok/plugin-one": {"description": "fine"},
              "@bad/null": null, "@bad/number": 5, "@bad/string": "github:a/b", "@bad/array": [],
              "": {"description": "no name"}, "has space": {"description": "x"}, "../../etc": {"description": "x"},
              "@scope": {"description": "x"}, "a/b": {"description": "x"}, "_private": {"description": "x"},
              "@bad/empty": {}, "@bad/unknown": {"foo": 1},
              "@bad/escape": {"description": "x", "directory": "../outside"},
              "@bad/absolute": {"description": "x", "directory": "/etc"},
              "@bad/typed": {"description": "x", "directory": 5},
              "@ok/plugin-two": {"description": "fine", "directory": "packages/two/"}
            }}
            """)
        #expect(document.entries.map(\.name) == ["@ok/plugin-one", "@ok/plugin-two"])
        #expect(document.entries[1].directory == "packages/two")
        #expect(document.skipped == 15)
        #expect(document.skippedReasons.count == 15)
        #expect(document.skippedReasons.contains { $0.hasPrefix("@bad/escape: directory") })
    }

    /// Index entries whose value is not a GitHub reference are skipped; other reference spellings are accepted.
    @Test func indexTolerance() throws {
        let document = try parse(
            """
            {"@a/plugin-one": "github:owner/one", "@a/plugin-two": "https://github.com/owner/two.git",
             "@a/plugin-three": "owner/three", "@a/plugin-four": "git+https://github.com/owner/four#main",
             "@a/plugin-bad": "github:nope", "@a/plugin-null": null, "@a/plugin-num": 3, "": "github:x/y",
             "@a/plugin-evil": "github:../etc"}
            """)
        #expect(document.format == .index)
        #expect(document.entries.map(\.gitRepo) == ["owner/four", "owner/one", "owner/three", "owner/two"])
        #expect(document.skipped == 5)
    }

    /// Legacy capitalised names are kept as written, and duplicate keys keep the last value.
    @Test func legacyNamesAndDuplicates() throws {
        let document = try parse(
            #"{"registry": {"@elizaos/plugin-lensNetwork": {"description": "first"}, "@elizaos/plugin-lensNetwork": {"description": "second"}}}"#)
        #expect(document.entries.count == 1)
        #expect(document.entries[0].name == "@elizaos/plugin-lensNetwork")
        #expect(document.entries[0].description == "second")
        #expect(document.entries[0].displayName == "LensNetwork")
    }

    /// A registry written as an array of entries (name in `name`, `package` or `npm.repo`) reads too.
    @Test func arrayRegistry() throws {
        let document = try parse(
            #"{"registry": [{"name": "@a/plugin-one", "description": "x"}, {"package": "@a/plugin-two", "description": "y"}, {"npm": {"repo": "@a/plugin-three", "v1": "1.0.0"}}, {"description": "nameless"}, 4]}"#)
        #expect(document.entries.map(\.name) == ["@a/plugin-one", "@a/plugin-three", "@a/plugin-two"])
        #expect(document.skipped == 2)
    }

    /// Documents that are too deep, too large, not JSON, or not an object are refused whole.
    @Test func hostileDocumentsAreRefused() throws {
        let deep = Array(#"{"registry": {"@a/b": {"x": "#.utf8) + Array(repeating: UInt8(ascii: "["), count: 300)
            + Array(repeating: UInt8(ascii: "]"), count: 300) + Array("}}}".utf8)
        #expect(refusal(deep)?.contains("deeper than 256") == true)
        let fine = Array(#"{"registry": {"@a/b": {"description": "ok", "x": "#.utf8) + Array(repeating: UInt8(ascii: "["), count: 250)
            + Array(repeating: UInt8(ascii: "]"), count: 250) + Array("}}}".utf8)
        #expect(try RegistryDocumentParser().parse(fine).entries.count == 1)
        #expect(refusal(Array("not json".utf8)) != nil)
        #expect(refusal(Array("[1, 2]".utf8))?.contains("an array, not an object") == true)
        #expect(refusal(Array(#"{"registry": "x"}"#.utf8))?.contains("registry is a string") == true)
        #expect(refusal(Array(#"{"registry": null}"#.utf8)) != nil)
        let big = Array(#"{"a": ""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 2000) + Array(#""}"#.utf8)
        #expect(refusal(big, RegistryDocumentParser(maxBytes: 1000))?.contains("over the limit of 1000") == true)
        #expect(refusal([0xFF, 0xFE]) != nil)
    }

    /// Repository references normalise to `owner/repo`; anything else is not a repository.
    @Test func githubReferences() {
        #expect(RegistryDocumentParser.githubRepo("github:a/b") == "a/b")
        #expect(RegistryDocumentParser.githubRepo("https://github.com/a/b.git") == "a/b")
        #expect(RegistryDocumentParser.githubRepo("https://GitHub.com/a/b/tree/main/packages/x") == "a/b")
        #expect(RegistryDocumentParser.githubRepo("git@github.com:a/b.git") == "a/b")
        #expect(RegistryDocumentParser.githubRepo("a/b/") == "a/b")
        #expect(RegistryDocumentParser.githubRepo("https://gitlab.com/a/b") == nil)
        #expect(RegistryDocumentParser.githubRepo("a/../b") == nil)
        #expect(RegistryDocumentParser.githubRepo("a b/c") == nil)
        #expect(RegistryDocumentParser.githubRepo("..") == nil)
    }

    /// The repository address uses the configured git base URL.
    @Test func gitBaseURL() throws {
        let parser = RegistryDocumentParser(gitBaseURL: "http://127.0.0.1:9/git")
        let document = try parse(#"{"@a/b": "github:o/r"}"#, parser)
        #expect(document.entries[0].repository == "http://127.0.0.1:9/git/o/r")
    }
}
