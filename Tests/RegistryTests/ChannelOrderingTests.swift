import Foundation
import Testing
@testable import Registry

/// What the channels of the real snapshot (`../shared/data/registry/generated-registry.next.json`) come out
/// as: their order, their versions as written (git tags keep their leading `v`), the version `auto` shows
/// and the one each named channel gives.
///
/// The expectation owes nothing to the code under test: the file is read with Foundation's JSON reader and
/// versions are ordered by a plain rule that covers exactly the shapes the snapshot holds (`1.2.3`,
/// `v1.2.3`, `2.0.0-alpha.4`); a version outside them is reported, so the rule never guesses.
@Suite struct ChannelOrderingTests {
    /// One channel as the file writes it.
    struct RawChannel {
        var npm: String?
        var git: String?
        var supported: Bool?
    }

    /// Every entry's channels, straight from the file.
    static func rawEntries() throws -> [String: [String: RawChannel]] {
        let root = try JSONSerialization.jsonObject(with: Data(sharedBytes(realRegistryPath))) as? [String: Any]
        let registry = try #require(root?["registry"] as? [String: Any])
        var result: [String: [String: RawChannel]] = [:]
        for (name, value) in registry {
            let object = try #require(value as? [String: Any], "\(name)")
            var channels: [String: RawChannel] = [:]
            for (key, value) in object["npm"] as? [String: Any] ?? [:] where key != "repo" && !key.hasSuffix("CoreRange") {
                channels[key, default: RawChannel()].npm = value as? String
            }
            for (key, value) in object["git"] as? [String: Any] ?? [:] where key != "repo" {
                channels[key, default: RawChannel()].git = (value as? [String: Any])?["version"] as? String
            }
            for (key, value) in object["supports"] as? [String: Any] ?? [:] {
                channels[key, default: RawChannel()].supported = value as? Bool
            }
            result[name] = channels
        }
        return result
    }

    /// The plain rule: an optional `v`, three numbers, an optional `-<letters>.<number>`. A stable version
    /// beats every pre-release; otherwise numbers compare as numbers and the pre-release word by its letters.
    struct PlainVersion: Comparable {
        var stable: Bool
        var numbers: [Int]
        var tag: String
        var build: Int

        init?(_ text: String) {
            let body = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
            let halves = body.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            let numbers = halves[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { Int($0) }
            guard numbers.count == 3, halves[0].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
            self.numbers = numbers
            if halves.count == 1 {
                (stable, tag, build) = (true, "", 0)
                return
            }
            let pre = halves[1].split(separator: ".", omittingEmptySubsequences: false)
            guard pre.count == 2, !pre[0].isEmpty, pre[0].allSatisfy({ $0.isASCII && $0.isLowercase }),
                pre[1].allSatisfy({ $0.isASCII && $0.isNumber }), let build = Int(pre[1])
            else { return nil }
            (stable, tag, self.build) = (false, String(pre[0]), build)
        }

        static func < (a: PlainVersion, b: PlainVersion) -> Bool {
            if a.stable != b.stable { return !a.stable }
            if a.numbers != b.numbers { return a.numbers.lexicographicallyPrecedes(b.numbers) }
            return (a.tag, a.build) < (b.tag, b.build)
        }
    }

    /// What `auto` should take among `channels` (in channel order): the supported ones with a version, or all
    /// with a version when none is supported; the highest by the plain rule, the first of equals.
    static func expectedAuto(_ channels: [(name: String, version: String?, supported: Bool?)]) -> (String, String)?? {
        let published = channels.filter { $0.version != nil }
        let supported = published.filter { $0.supported == true }
        var best: (name: String, text: String, version: PlainVersion)?
        for channel in supported.isEmpty ? published : supported {
            guard let version = PlainVersion(channel.version!) else { return nil }
            if best.map({ $0.version < version }) ?? true { best = (channel.name, channel.version!, version) }
        }
        return .some(best.map { ($0.name, $0.text) })
    }

    /// `v<N>` by number.
    static func channelOrder(_ names: some Sequence<String>) -> [String] {
        names.sorted { Int($0.dropFirst())! < Int($1.dropFirst())! }
    }

    @Test func realSnapshotChannels() throws {
        let raw = try Self.rawEntries()
        let bytes = try sharedBytes(realRegistryPath)
        let auto = try RegistryDocumentParser().parse(bytes)
        #expect(auto.entries.count == raw.count && auto.skipped == 0)
        let names = Self.channelOrder(Set(raw.values.flatMap(\.keys)))
        #expect(names == ["v0", "v1", "v2"])
        let named = try names.map { name in (name, try RegistryDocumentParser(channel: .named(name)).parse(bytes)) }

        var prereleases = 0
        var leadingV = 0
        for (position, entry) in auto.entries.enumerated() {
            let channels = try #require(raw[entry.name], "\(entry.name)")
            // Order and content, as written.
            #expect(entry.channels.map(\.name) == Self.channelOrder(channels.keys), "\(entry.name)")
            for channel in entry.channels {
                let expected = channels[channel.name]
                #expect(channel.npmVersion == expected?.npm, "\(entry.name) \(channel.name)")
                #expect(channel.gitVersion == expected?.git, "\(entry.name) \(channel.name)")
                #expect(channel.supported == expected?.supported, "\(entry.name) \(channel.name)")
                if let npm = channel.npmVersion, PlainVersion(npm)?.stable == false { prereleases += 1 }
                if channel.gitVersion?.hasPrefix("v") == true { leadingV += 1 }
            }

            // The version listings show.
            let published = entry.channels.map { ($0.name, $0.npmVersion, $0.supported) }
            guard case .some(let expected) = Self.expectedAuto(published) else {
                Issue.record("\(entry.name): a version the plain rule does not cover: \(published)")
                continue
            }
            #expect(entry.versionChannel == expected?.0 && entry.version == expected?.1, "\(entry.name)")

            // Each named channel gives its own version or none.
            for (name, document) in named {
                let pinned = document.entries[position]
                #expect(pinned.name == entry.name)
                #expect(pinned.versionChannel == (channels[name]?.npm == nil ? nil : name), "\(entry.name) \(name)")
                #expect(pinned.version == channels[name]?.npm, "\(entry.name) \(name)")
            }

            // Git tags read as versions too (`v0.5.0`), compared with the npm versions: every channel both
            // ways, all supported, so `auto` must pick the highest of them all.
            var mixed: [(name: String, version: String?, supported: Bool?)] = []
            for channel in entry.channels {
                if let npm = channel.npmVersion { mixed.append((channel.name, npm, true)) }
                if let git = channel.gitVersion { mixed.append(("git-" + channel.name, git, true)) }
            }
            guard case .some(let expectedMixed) = Self.expectedAuto(mixed) else {
                Issue.record("\(entry.name): a version the plain rule does not cover: \(mixed)")
                continue
            }
            let selected = ChannelPolicy.auto.select(from: mixed.map { RegistryChannel(name: $0.name, npmVersion: $0.version, supported: true) })
            #expect(selected?.channel == expectedMixed?.0 && selected?.version == expectedMixed?.1, "\(entry.name): \(mixed)")
        }
        // The snapshot still holds the cases this test is about.
        #expect(prereleases > 0 && leadingV > 0, "pre-releases \(prereleases), leading v \(leadingV)")
    }
}
