import Testing
import Vocabulary

@Suite struct IdentityTests {
    /// Short ids, config keys, directory names and their inverse.
    @Test func derivedNames() {
        #expect(PluginIdentity.shortId("@elizaos/plugin-twitter") == "twitter")
        #expect(PluginIdentity.shortId("@acme/twitter") == "twitter")
        #expect(PluginIdentity.shortId("plugin-foo") == "foo")
        #expect(PluginIdentity.shortId("foo") == "foo")
        #expect(PluginIdentity.configKey("@elizaos/plugin-twitter") == "twitter")
        #expect(PluginIdentity.configKey("@acme/plugin-twitter") == "@acme/plugin-twitter")
        #expect(PluginIdentity.npmName(fromConfigKey: "twitter") == "@elizaos/plugin-twitter")
        #expect(PluginIdentity.npmName(fromConfigKey: "@acme/plugin-x") == "@acme/plugin-x")
        #expect(PluginIdentity.directoryName("@elizaos/plugin-x") == "_elizaos_plugin-x")
        #expect(PluginIdentity.directoryName("Weird Name/ü") == "Weird_Name__")
    }

    /// When several share a short id the @elizaos/ one keeps it, the others use npm names.
    @Test func collidingShortIds() {
        let ids = PluginIdentity.assignIds(["@acme/plugin-twitter", "@elizaos/plugin-twitter", "@x/plugin-foo", "@y/plugin-foo", "@z/solo"])
        #expect(ids["@elizaos/plugin-twitter"] == "twitter")
        #expect(ids["@acme/plugin-twitter"] == "@acme/plugin-twitter")
        #expect(ids["@x/plugin-foo"] == "@x/plugin-foo")
        #expect(ids["@y/plugin-foo"] == "@y/plugin-foo")
        #expect(ids["@z/solo"] == "solo")
    }

    /// The resolver's order: id, npm name, @elizaos/plugin-x, @elizaos/x, unique suffix, else ambiguous or not found.
    @Test func resolverOrder() {
        let keys = ["@acme/plugin-twitter", "@elizaos/plugin-twitter", "@x/plugin-foo", "@y/plugin-foo", "@elizaos/core-thing", "@z/solo"]
        let ids = PluginIdentity.assignIds(keys)
        #expect(PluginIdentity.resolve("twitter", keys: keys, ids: ids) == .found("@elizaos/plugin-twitter"))
        #expect(PluginIdentity.resolve("@acme/plugin-twitter", keys: keys, ids: ids) == .found("@acme/plugin-twitter"))
        #expect(PluginIdentity.resolve("core-thing", keys: keys, ids: ids) == .found("@elizaos/core-thing"))
        #expect(PluginIdentity.resolve("solo", keys: keys, ids: ids) == .found("@z/solo"))
        #expect(PluginIdentity.resolve("foo", keys: keys, ids: ids) == .ambiguous(["@x/plugin-foo", "@y/plugin-foo"]))
        #expect(PluginIdentity.resolve("nothing", keys: keys, ids: ids) == .notFound)
        #expect(PluginIdentity.resolve("witter", keys: keys, ids: ids) == .notFound)
    }
}
