import Audit
import JSON
import Testing

@Suite struct ConfigChangesTests {
    static func document(_ text: String) -> JSONObject { try! JSONParser.parse(Array(text.utf8)).objectValue! }

    /// Settings are named with set/changed/unset, never with a value; enabled flags and versions carry from and to.
    @Test func namesFlagsAndVersions() {
        let old = Self.document("""
            {"env": {"A_KEY": "old-secret", "B_KEY": "same", "C_KEY": "gone", "E_KEY": null},
             "plugins": {"entries": {"openai": {"enabled": false}, "@acme/plugin-x": {"enabled": true}},
                         "allow": ["@elizaos/plugin-discord"],
                         "installs": {"@acme/plugin-x": {"version": "1.0.0"}, "@acme/plugin-old": {"version": "0.1.0"}}}}
            """)
        let new = Self.document("""
            {"env": {"A_KEY": "new-secret", "B_KEY": "same", "D_KEY": "fresh-secret", "E_KEY": "now"},
             "plugins": {"entries": {"openai": {"enabled": true}, "@acme/plugin-x": {"enabled": true}},
                         "allow": [],
                         "installs": {"@acme/plugin-x": {"version": "1.1.0"}, "@acme/plugin-new": {"version": "2.0.0"}}}}
            """)
        let changes = ConfigChanges.between(old, new, settingsOwner: "@elizaos/plugin-openai")
        let text = JSONWriter.compact(.array(changes))
        #expect(text == #"""
            [{"plugin":"@elizaos/plugin-openai","kind":"setting","name":"A_KEY","action":"changed"},\#
            {"plugin":"@elizaos/plugin-openai","kind":"setting","name":"C_KEY","action":"unset"},\#
            {"plugin":"@elizaos/plugin-openai","kind":"setting","name":"E_KEY","action":"set"},\#
            {"plugin":"@elizaos/plugin-openai","kind":"setting","name":"D_KEY","action":"set"},\#
            {"plugin":"@elizaos/plugin-openai","kind":"enabled","from":false,"to":true},\#
            {"plugin":"@elizaos/plugin-discord","kind":"enabled","from":true,"to":false},\#
            {"plugin":"@acme/plugin-x","kind":"version","from":"1.0.0","to":"1.1.0"},\#
            {"plugin":"@acme/plugin-old","kind":"version","from":"0.1.0","to":null},\#
            {"plugin":"@acme/plugin-new","kind":"version","from":null,"to":"2.0.0"}]
            """#)
        for secret in ["old-secret", "new-secret", "fresh-secret", "same", "now"] { #expect(!text.contains(secret)) }
    }

    /// Nothing changed, nothing reported; keys plugind does not own are not its concern.
    @Test func unchangedIsEmpty() {
        let doc = Self.document(#"{"env": {"A": "1"}, "agent": {"name": "x"}, "plugins": {"entries": {"a": {"enabled": true}}}}"#)
        var other = doc
        other["agent"] = .string("renamed")
        #expect(ConfigChanges.between(doc, other, settingsOwner: nil).isEmpty)
    }
}
