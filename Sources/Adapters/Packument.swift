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
        /// The `deprecated` message, when the version is deprecated (a `true` reads as an empty message).
        public let deprecationMessage: String?
        public let repository: String?
        /// What this version needs, in the manifest's order (`dependencies`, `optionalDependencies`, `peerDependencies`).
        public let dependencies: [Dependency]
        /// Versions that ship `npm-shrinkwrap.json` (`_hasShrinkwrap`): npm would take their tree from inside the tarball.
        public let hasShrinkwrap: Bool
        /// `bundleDependencies` / `bundledDependencies`: packages npm would take from inside the tarball.
        public let bundlesDependencies: Bool
        /// `os` and `cpu`, npm's platform filters (an optional dependency that does not fit is skipped).
        public let os: [String]
        public let cpu: [String]
        /// `bin`, as published: npm links it into `node_modules/.bin` from the lockfile.
        public let bin: JSONValue?
    }

    /// One declared dependency of a version.
    public struct Dependency: Sendable, Equatable {
        public enum Kind: String, Sendable { case regular = "dependencies", optional = "optionalDependencies", peer = "peerDependencies" }
        public let name: String
        public let spec: String
        public let kind: Kind
        /// A peer dependency marked optional in `peerDependenciesMeta` (npm does not install it).
        public let optionalPeer: Bool

        public init(name: String, spec: String, kind: Kind, optionalPeer: Bool) {
            self.name = name
            self.spec = spec
            self.kind = kind
            self.optionalPeer = optionalPeer
        }
    }

    public let name: String
    public let versions: [String: Version]
    /// The packument's version keys in document order (npm breaks ties by it).
    public let versionOrder: [String]
    public let distTags: [String: String]
    /// Publication times by version (for key expiry).
    public let time: [String: String]

    /// Reads a packument; versions without a tarball are skipped.
    public init(json document: JSONValue) throws(NpmRegistryError) {
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
                deprecationMessage: Self.isTruthy(member.value["deprecated"]) ? (member.value["deprecated"]?.stringValue ?? "") : nil,
                repository: repository,
                dependencies: Self.dependencies(of: member.value),
                hasShrinkwrap: Self.isTruthy(member.value["_hasShrinkwrap"]),
                bundlesDependencies: Self.isTruthy(member.value["bundleDependencies"]) || Self.isTruthy(member.value["bundledDependencies"]),
                os: (member.value["os"]?.arrayValue ?? []).compactMap(\.stringValue),
                cpu: (member.value["cpu"]?.arrayValue ?? []).compactMap(\.stringValue),
                bin: member.value["bin"])
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

    /// A version's declared dependencies. A name in both `dependencies` and `optionalDependencies` is optional (npm's
    /// rule); a peer also declared as a regular dependency is installed as the regular one. A spec that is not a string
    /// is kept as its JSON text, so the walk refuses it by name instead of silently skipping it.
    /// What a source checkout needs to build: its dependencies and its `devDependencies` (as regular ones).
    public static func checkoutDependencies(of manifest: JSONValue) -> [Dependency] {
        var result = dependencies(of: manifest)
        let declared = Set(result.map(\.name))
        for member in manifest["devDependencies"]?.objectValue ?? JSONObject() where !declared.contains(member.key) {
            result.append(Dependency(name: member.key, spec: member.value.stringValue ?? JSONWriter.compact(member.value), kind: .regular, optionalPeer: false))
        }
        return result
    }

    static func dependencies(of manifest: JSONValue) -> [Dependency] {
        func specs(_ field: String) -> [(String, String)] {
            (manifest[field]?.objectValue ?? JSONObject()).map { ($0.key, $0.value.stringValue ?? JSONWriter.compact($0.value)) }
        }
        let optional = specs("optionalDependencies")
        let optionalNames = Set(optional.map(\.0))
        var result: [Dependency] = specs("dependencies").filter { !optionalNames.contains($0.0) }.map {
            Dependency(name: $0.0, spec: $0.1, kind: .regular, optionalPeer: false)
        }
        result += optional.map { Dependency(name: $0.0, spec: $0.1, kind: .optional, optionalPeer: false) }
        let installed = Set(result.map(\.name))
        let meta = manifest["peerDependenciesMeta"]?.objectValue
        result += specs("peerDependencies").filter { !installed.contains($0.0) }.map {
            Dependency(name: $0.0, spec: $0.1, kind: .peer, optionalPeer: meta?[$0.0]?["optional"]?.boolValue == true)
        }
        return result
    }

    /// The version's requirement on `package` (`@elizaos/core`): its regular, optional or peer dependency spec.
    public func requirement(of version: String, on package: String) -> String? {
        versions[version]?.dependencies.first { $0.name == package }?.spec
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
