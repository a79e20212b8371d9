import Foundation
import SemVer
import Testing
@testable import Registry

/// `compatible` computed from the real `next` snapshot's `<channel>CoreRange` pins (issue 19).
@Suite struct CompatibilityTests {
    private func entries(core: String?) throws -> [String: RegistryEntry] {
        let parser = RegistryDocumentParser(coreVersion: core.flatMap { Version(lenient: $0) })
        let document = try parser.parse(try sharedBytes(realRegistryPath))
        return Dictionary(uniqueKeysWithValues: document.entries.map { ($0.name, $0) })
    }

    /// `latest(of:)`, which the installed list reads for every plugin, says what the whole entry says, for every entry
    /// of the real snapshot with and without a core version (so `compatible` is true, false and unknown).
    @Test func latestReadsWhatTheEntrySays() throws {
        for core in ["1.4.0", nil] {
            let parser = RegistryDocumentParser(coreVersion: core.flatMap { Version(lenient: $0) })
            let document = try parser.parse(try sharedBytes(realRegistryPath))
            let snapshot = RegistrySnapshot(catalog: RegistryCatalog(document: document), source: RegistrySource(url: "test:", fetchedAt: Date()))
            for entry in document.entries {
                let latest = try #require(snapshot.latest(of: entry.name))
                #expect(latest.version == entry.version && latest.compatible == entry.compatible, "\(entry.name)")
            }
            #expect(Set(document.entries.map(\.compatible)).count == (core == nil ? 1 : 3))
            #expect(snapshot.latest(of: "@acme/not-listed") == nil)
        }
    }

    /// An agent on core 1.4.0: a v0-only plugin pinned to 0.1.9 does not fit; `auto` takes the v1 channel whose pin
    /// fits over a v0 one; a plugin none of whose channels fit keeps the usual choice and says what it needs; a
    /// `workspace:*` channel is unknown and preferred over one that does not fit.
    @Test func anAgentOnCore1() throws {
        let byName = try entries(core: "1.4.0")
        let mongo = try #require(byName["@elizaos/adapter-mongodb"])
        #expect(mongo.version == "0.1.9" && mongo.compatible == false)
        #expect(mongo.compatibility == "needs @elizaos/core 0.1.x")
        let allora = try #require(byName["@elizaos/plugin-allora"])
        #expect(allora.versionChannel == "v1" && allora.version == "1.0.0" && allora.compatible == true && allora.compatibility == nil)
        let anthropic = try #require(byName["@elizaos/plugin-anthropic"])
        #expect(anthropic.version == "1.5.12" && anthropic.compatible == false)
        #expect(anthropic.compatibility == "needs @elizaos/core ^1.6.1")
        let skills = try #require(byName["@elizaos/plugin-agent-skills"])
        #expect(skills.versionChannel == "v1" && skills.compatible == nil)
        // 98 entries publish only the 0.1.9 pin on v0 and nothing newer that fits.
        #expect(byName.values.filter { $0.compatible == false }.count > 90)
    }

    /// An agent on a 2.0 pre-release: the v2 pins (`2.0.0-alpha.3`) fit, and `auto` takes them over a stable v1.
    @Test func anAgentOnCore2Alpha() throws {
        let byName = try entries(core: "2.0.0-alpha.5")
        let anthropic = try #require(byName["@elizaos/plugin-anthropic"])
        #expect(anthropic.versionChannel == "v2" && anthropic.version == "2.0.0-alpha.4" && anthropic.compatible == true)
        #expect(byName["@elizaos/adapter-mongodb"]?.compatible == false)
    }

    /// An unknown core: nothing is decided, and the channel choice is the contract's.
    @Test func anUnknownCoreDecidesNothing() throws {
        let byName = try entries(core: nil)
        #expect(byName.values.allSatisfy { $0.compatible == nil && $0.compatibility == nil })
        #expect(byName["@elizaos/plugin-anthropic"]?.versionChannel == "v1")
    }
}
