import Audit
import Stores
import Testing

@Suite struct AuditQueryTests {
    /// Times in any ISO 8601 form the contract allows become the stored form: UTC, milliseconds, fractions rounded up.
    @Test func timesAreNormalised() {
        #expect(AuditQuery.time("2026-12-07T04:00:00Z") == "2026-12-07T04:00:00.000Z")
        #expect(AuditQuery.time("2026-12-07T04:00:00.5Z") == "2026-12-07T04:00:00.500Z")
        #expect(AuditQuery.time("2026-12-07T04:00:00.1234Z") == "2026-12-07T04:00:00.124Z")
        #expect(AuditQuery.time("2026-12-07T06:00:00+02:00") == "2026-12-07T04:00:00.000Z")
        #expect(AuditQuery.time("2026-12-31T23:59:59.9999Z") == "2027-01-01T00:00:00.000Z")
        for bad in ["", "yesterday", "2026-12-07", "2026-12-07T04:00:00", "2026-02-30T00:00:00Z", "2026-12-07T24:00:00Z", "2026-12-07T04:00:00.Z",
            "2026-12-07T04:00:00Zjunk", "1e9"]
        {
            #expect(AuditQuery.time(bad) == nil, "\(bad)")
        }
    }

    /// Each bad parameter is refused with a sentence naming it.
    @Test func badParametersAreNamed() {
        func refused(_ parameter: String, since: String? = nil, until: String? = nil, plugin: String? = nil, limit: String? = nil, cursor: String? = nil) {
            do {
                _ = try AuditQuery.parse(since: since, until: until, plugin: plugin, limit: limit, cursor: cursor)
                Issue.record("\(parameter) was accepted")
            } catch {
                #expect(error.parameter == parameter)
                #expect(error.message.contains("'\(parameter)'"))
            }
        }
        refused("since", since: "last week")
        refused("until", until: "2026-13-01T00:00:00Z")
        for limit in ["0", "501", "-1", "ten", "1.5", "0x10", "00000000050"] { refused("limit", limit: limit) }
        refused("cursor", cursor: "not-a-cursor")
        refused("cursor", cursor: AuditQuery.cursor(.init(time: "2026-12-07T04:00:00.000Z", id: 5)) + "!")
        refused("cursor", cursor: "bm90IGEgY3Vyc29y")  // "not a cursor", well encoded
        refused("plugin", plugin: "bad\u{1}name")
        refused("plugin", plugin: String(repeating: "a", count: 215))
    }

    /// Good parameters: limits, defaults, a cursor that round-trips, and a plugin known by its other names.
    @Test func goodParameters() throws {
        let query = try AuditQuery.parse(since: "2026-01-01T00:00:00Z", until: nil, plugin: "openai", limit: "500", cursor: nil)
        #expect(query.limit == 500)
        #expect(query.since == "2026-01-01T00:00:00.000Z")
        #expect(query.subjects == ["openai", "@elizaos/plugin-openai", "@elizaos/openai"])
        #expect(try AuditQuery.parse(since: nil, until: nil, plugin: nil, limit: nil, cursor: nil).limit == 50)
        let position = AuditStore.Position(time: "2026-12-07T04:05:06.123Z", id: 42)
        #expect(try AuditQuery.parse(since: nil, until: nil, plugin: nil, limit: nil, cursor: AuditQuery.cursor(position)).after == position)
        let scoped = try AuditQuery.parse(since: nil, until: nil, plugin: "@elizaos/plugin-openai", limit: nil, cursor: nil, aliases: { _ in ["x"] })
        #expect(scoped.subjects == ["@elizaos/plugin-openai", "x", "openai"])
    }
}
