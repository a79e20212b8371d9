import JSON

/// The parts of an npm packument that installing needs.
public struct Packument: Sendable {
    public struct Dist: Sendable {
        public let tarball: String
        public let integrity: String?
        public let shasum: String?
        public let signatures: [(keyid: String, sig: String)]
    }
    public struct Version: Sendable {
        public let version: String
        public let dist: Dist
        public let gitHead: String?
        public let deprecated: Bool
        public let repository: String?
    }

    public let name: String
    public let versions: [String: Version]
    /// The packument's version keys in document order (npm breaks ties by it).
    public let versionOrder: [String]
    public let distTags: [String: String]
    /// Publication times by version (for key expiry).
    public let time: [String: String]

    /// Reads a packument; versions without a tarball are skipped.
    public init(json document: JSONValue) throws(InstallError) {
        guard let name = document["name"]?.stringValue, let versions = document["versions"]?.objectValue else {
            throw .upstream("The npm registry answered with something that is not a packument.")
        }
        self.name = name
        var parsed: [String: Version] = [:]
        var order: [String] = []
        for member in versions {
            guard let dist = member.value["dist"], let tarball = dist["tarball"]?.stringValue else { continue }
            let signatures = (dist["signatures"]?.arrayValue ?? []).compactMap { item -> (String, String)? in
                guard let keyid = item["keyid"]?.stringValue, let sig = item["sig"]?.stringValue else { return nil }
                return (keyid, sig)
            }
            var repository = member.value["repository"]?.stringValue
            if repository == nil { repository = member.value["repository"]?["url"]?.stringValue }
            parsed[member.key] = Version(
                version: member.key,
                dist: Dist(tarball: tarball, integrity: dist["integrity"]?.stringValue, shasum: dist["shasum"]?.stringValue, signatures: signatures),
                gitHead: member.value["gitHead"]?.stringValue,
                deprecated: Self.isTruthy(member.value["deprecated"]),
                repository: repository)
            order.append(member.key)
        }
        self.versions = parsed
        self.versionOrder = order
        var tags: [String: String] = [:]
        for member in document["dist-tags"]?.objectValue ?? JSONObject() {
            if let v = member.value.stringValue { tags[member.key] = v }
        }
        self.distTags = tags
        var time: [String: String] = [:]
        for member in document["time"]?.objectValue ?? JSONObject() {
            if let t = member.value.stringValue { time[member.key] = t }
        }
        self.time = time
    }

    /// npm treats `deprecated` as set when it is truthy in JavaScript: `""` un-deprecates.
    static func isTruthy(_ value: JSONValue?) -> Bool {
        switch value {
        case .string(let s)?: !s.isEmpty
        case .bool(let b)?: b
        case .number(let n)?: (Double(n) ?? 0) != 0
        case .array?, .object?: true
        default: false
        }
    }
}
