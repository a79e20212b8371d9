import Testing
@testable import Registry

private func channel(_ name: String, _ version: String?, supported: Bool? = true) -> RegistryChannel {
    RegistryChannel(name: name, npmVersion: version, supported: supported)
}

@Suite struct ChannelTests {
    /// Versions order as semver says, pre-releases included; `v` prefixes and short forms read leniently
    /// (the reading itself is SemVer's `Version(lenient:)`, tested there).
    @Test func semverPrecedence() throws {
        let stable = ["0.1.9", "1.0.0", "v1.6.1", "=1.6.2+build.5", "2.0", "10.0.0"]
        let prereleases = [
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
            "2.0.0-alpha.4", "v2.0.0-alpha.10",
        ]
        for ordered in [stable, prereleases] {
            for (a, b) in zip(ordered, ordered.dropFirst()) {
                #expect(ChannelPolicy.auto.select(from: [channel("v0", a), channel("v1", b)])?.version == b, "\(a) < \(b)")
                #expect(ChannelPolicy.auto.select(from: [channel("v0", b), channel("v1", a)])?.version == b, "\(a) < \(b)")
            }
        }
        // Equal versions: the first channel keeps it.
        #expect(ChannelPolicy.auto.select(from: [channel("v0", "1.0"), channel("v1", "1.0.0")])?.channel == "v0")
        #expect(ChannelPolicy.auto.select(from: [channel("v0", "v1.0.12"), channel("v1", "1.0.12")])?.channel == "v0")
        for bad in ["latest", "workspace:*", "", "1..2", "1.2.3.4", "1.2.x", "^1.0.0", "1.0.0-", "1.0.0-a..b", "99999999999999999999.0.0"] {
            #expect(ChannelPolicy.auto.select(from: [channel("v0", "0.0.1-alpha"), channel("v1", bad)])?.version == "0.0.1-alpha", "\(bad)")
        }
    }

    /// `auto`: the highest stable version among supported channels, even when a newer pre-release exists.
    @Test func autoPrefersStable() throws {
        let selected = ChannelPolicy.auto.select(from: [channel("v0", "0.1.9"), channel("v1", "1.6.0"), channel("v2", "2.0.0-alpha.4")])
        #expect(selected?.channel == "v1" && selected?.version == "1.6.0")
    }

    /// `auto` ignores unsupported channels while any supported one publishes a version.
    @Test func autoUsesSupportedChannels() throws {
        let selected = ChannelPolicy.auto.select(from: [
            channel("v0", "0.1.9"), channel("v1", "1.0.0", supported: false), channel("v2", "2.0.0-alpha.4"),
        ])
        #expect(selected?.version == "0.1.9")
    }

    /// `auto` with only pre-releases takes the highest pre-release.
    @Test func autoFallsBackToPrerelease() throws {
        let selected = ChannelPolicy.auto.select(from: [channel("v2", "2.0.0-alpha.1"), channel("alpha", "2.0.0-alpha.10")])
        #expect(selected?.channel == "alpha" && selected?.version == "2.0.0-alpha.10")
    }

    /// When upstream marks no publishing channel supported, `auto` considers every channel with a version.
    @Test func autoWithoutSupportFlags() throws {
        let stale = ChannelPolicy.auto.select(from: [channel("v0", "0.1.2", supported: false), channel("v1", nil, supported: true)])
        #expect(stale?.version == "0.1.2")
        let unknown = ChannelPolicy.auto.select(from: [channel("v0", "0.1.2", supported: nil), channel("v1", "1.0.1", supported: nil)])
        #expect(unknown?.version == "1.0.1")
        #expect(ChannelPolicy.auto.select(from: [channel("v0", nil)]) == nil)
        #expect(ChannelPolicy.auto.select(from: []) == nil)
    }

    /// New channel names are compared by version, not by name (`v10` after `v9`, `next` by its version).
    @Test func genericChannels() throws {
        let selected = ChannelPolicy.auto.select(from: [channel("v9", "9.1.0"), channel("v10", "10.0.1"), channel("next", "3.0.0")])
        #expect(selected?.channel == "v10")
        #expect(RegistryChannel.precedes("v9", "v10"))
        #expect(RegistryChannel.precedes("v10", "alpha"))
        #expect(RegistryChannel.precedes("alpha", "beta"))
    }

    /// Versions that do not read as semver are used only when nothing else is there.
    @Test func unreadableVersions() throws {
        #expect(ChannelPolicy.auto.select(from: [channel("v0", "banana"), channel("v1", "1.0.0")])?.version == "1.0.0")
        #expect(ChannelPolicy.auto.select(from: [channel("v0", "banana"), channel("v1", "apple")])?.version == "apple")
    }

    /// A named channel gives that channel's version, or none.
    @Test func namedChannel() throws {
        let channels = [channel("v0", "0.1.9"), channel("v1", "1.6.0"), channel("v2", "2.0.0-alpha.4", supported: false)]
        #expect(ChannelPolicy("v2")?.select(from: channels)?.version == "2.0.0-alpha.4")
        #expect(ChannelPolicy("alpha")?.select(from: channels) == nil)
    }

    /// The setting reads `auto` in any case or a plain channel name; anything else is refused.
    @Test func policyFromSetting() {
        #expect(ChannelPolicy("auto") == .auto)
        #expect(ChannelPolicy(" AUTO ") == .auto)
        #expect(ChannelPolicy("v2") == .named("v2"))
        #expect(ChannelPolicy("") == nil)
        #expect(ChannelPolicy("v 2") == nil)
        #expect(ChannelPolicy(String(repeating: "v", count: 33)) == nil)
    }

    /// A document's channels (v0, v1, v2, alpha and a new one) are all kept, and the setting picks the version shown.
    @Test func channelsFromDocument() throws {
        let text = """
            {"registry": {"@a/plugin-x": {
              "git": {"repo": "a/x", "v0": {"version": "v0.5.0", "branch": "0.x"}, "alpha": {"version": null, "branch": "alpha"}},
              "npm": {"repo": "@a/plugin-x", "v0": "0.5.1", "v1": "1.2.0", "v2": "2.0.0-beta.2", "alpha": "3.0.0-alpha.1", "v3": "3.1.0-rc.1"},
              "supports": {"v0": true, "v1": true, "v2": true, "alpha": true, "v3": false}}}}
            """
        let auto = try RegistryDocumentParser().parse(Array(text.utf8)).entries[0]
        #expect(auto.channels.map(\.name) == ["v0", "v1", "v2", "v3", "alpha"])
        #expect(auto.version == "1.2.0" && auto.versionChannel == "v1")
        #expect(auto.channel("alpha")?.gitBranch == "alpha")
        let alpha = try RegistryDocumentParser(channel: .named("alpha")).parse(Array(text.utf8)).entries[0]
        #expect(alpha.version == "3.0.0-alpha.1")
    }
}
