import JSON
@testable import Registry

/// A registry document of `count` entries made from the real snapshot: names get a numbered scope and
/// suffix, descriptions and topics are kept, so vocabulary and postings grow as a real large registry's would.
func syntheticRegistry(count: Int) throws -> [UInt8] {
    let real = try JSONParser.parse(try sharedBytes(realRegistryPath))
    let entries = real["registry"]!.objectValue!.members
    var members: [JSONObject.Member] = []
    members.reserveCapacity(count)
    for i in 0..<count {
        let base = entries[i % entries.count]
        let round = i / entries.count
        let name = round == 0 ? base.key : "@synth\(round)/\(PluginIdentityName.unscoped(base.key))-\(i)"
        var value = base.value.objectValue!
        if var npm = value["npm"]?.objectValue {
            npm["repo"] = .string(name)
            value["npm"] = .object(npm)
        }
        value["stargazers_count"] = .number(i % 97)
        members.append(.init(key: name, value: .object(value)))
    }
    let document: JSONValue = ["lastUpdatedAt": "2026-02-09T02:30:56.148Z", "registry": .object(JSONObject(members))]
    return JSONWriter.compactBytes(document)
}

enum PluginIdentityName {
    static func unscoped(_ name: String) -> String { RegistrySearchIndex.unscoped(name) }
}

/// At least 1,000 distinct queries: single words, pairs and one-letter typos of words found in the real registry.
func benchmarkQueries() -> [String] {
    let words = [
        "twitter", "discord", "solana", "openai", "telegram", "farcaster", "evm", "nft", "wallet", "trading", "image", "video",
        "voice", "chat", "database", "postgres", "sql", "bot", "defi", "token", "agent", "blockchain", "ai", "generation",
        "google", "anthropic", "ollama", "memory", "search", "news", "weather", "email", "github", "music", "game", "3d", "market",
        "price", "swap", "bridge", "ton", "sui", "aptos", "near", "starknet", "cosmos", "bitcoin", "ethereum", "base", "arbitrum",
    ]
    var queries: [String] = []
    for word in words { queries.append(word) }
    for a in words { for b in words.prefix(18) where a != b { queries.append("\(a) \(b)") } }
    for word in words where word.count >= 4 {
        let chars = Array(word)
        for i in 0..<(chars.count - 1) {
            var swapped = chars
            swapped.swapAt(i, i + 1)
            queries.append(String(swapped))
            var dropped = chars
            dropped.remove(at: i)
            queries.append(String(dropped))
        }
    }
    return Array(Set(queries)).sorted()
}
