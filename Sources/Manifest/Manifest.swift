import Install
import JSON
import SemVer

/// An agent's plugin set, declared (docs/fleet.md, schema docs/manifest.schema.json): the packages with their whole
/// verified trees, the ejected copies with their upstream commits, each plugin's enabled flag, the non-secret
/// settings and the names of the secret ones that are set. Written byte-stable: sorted keys, two-space indentation,
/// a trailing newline, so the same set always exports the same bytes and a diff in git reads as what changed.
public struct Manifest: Sendable, Equatable {
    public static let version = 1

    public struct Package: Sendable, Equatable {
        public var version: String
        /// Every package of the installed tree, the plugin itself included; nil: not pinned (another tool installed it).
        public var tree: [PinnedPackage]?

        public init(version: String, tree: [PinnedPackage]?) {
            self.version = version
            self.tree = tree
        }
    }

    public struct Ejected: Sendable, Equatable {
        public var gitUrl: String?
        public var branch: String?
        public var commit: String?

        public init(gitUrl: String?, branch: String?, commit: String?) {
            self.gitUrl = gitUrl
            self.branch = branch
            self.commit = commit
        }
    }

    /// By npm name.
    public var packages: [String: Package] = [:]
    public var ejected: [String: Ejected] = [:]
    /// Non-core plugins' enabled flags, by npm name; a plugin not named is disabled.
    public var plugins: [String: Bool] = [:]
    /// Non-secret setting values, by key.
    public var settings: [String: String] = [:]
    /// Secret settings that are set (names only).
    public var secrets: Set<String> = []

    public init() {}

    // MARK: Writing

    public var json: JSONValue {
        func sortedObject<Value>(_ dictionary: [String: Value], _ encode: (Value) -> JSONValue) -> JSONValue {
            .object(JSONObject(dictionary.keys.sorted().map { JSONObject.Member(key: $0, value: encode(dictionary[$0]!)) }))
        }
        func optional(_ members: [(String, JSONValue?)]) -> JSONValue {
            .object(JSONObject(members.sorted { $0.0 < $1.0 }.compactMap { key, value in value.map { JSONObject.Member(key: key, value: $0) } }))
        }
        return optional([
            ("manifestVersion", .number(Self.version)),
            ("packages", sortedObject(packages) { package in
                optional([("version", .string(package.version)), ("tree", package.tree.map { .strings($0.sorted().map(\.text)) } ?? .null)])
            }),
            ("ejected", sortedObject(ejected) { copy in
                optional([("gitUrl", .string(copy.gitUrl)), ("branch", .string(copy.branch)), ("commit", .string(copy.commit))])
            }),
            ("plugins", sortedObject(plugins) { enabled in .object(["enabled": .bool(enabled)]) }),
            ("settings", sortedObject(settings) { .string($0) }),
            ("secrets", .strings(secrets.sorted())),
        ])
    }

    /// The bytes an export answers: pretty, sorted, with a trailing newline.
    public var bytes: [UInt8] { Array((JSONWriter.pretty(json) + "\n").utf8) }

    // MARK: Reading

    /// Reads a manifest, refusing (400) at the first member that is not what the schema says, named by its path
    /// (`packages.@acme/plugin-x.version`).
    public init(parsing value: JSONValue) throws(ManifestError) {
        guard let root = value.objectValue else { throw .malformed(field: "(root)", "must be a JSON object") }
        try Self.onlyMembers(root, ["manifestVersion", "packages", "ejected", "plugins", "settings", "secrets"], at: nil)
        guard let version = root["manifestVersion"] else { throw .malformed(field: "manifestVersion", "is required (1)") }
        guard version.intValue == Self.version else {
            throw .malformed(field: "manifestVersion", "must be \(Self.version); this plugind reads manifest version \(Self.version) only")
        }
        for member in try Self.object(root["packages"], at: "packages") {
            let path = "packages.\(member.key)"
            try Self.checkName(member.key, at: path)
            guard let body = member.value.objectValue else { throw .malformed(field: path, "must be an object with version and tree") }
            try Self.onlyMembers(body, ["version", "tree"], at: path)
            guard let text = body["version"]?.stringValue else { throw .malformed(field: "\(path).version", "is required and must be a string") }
            guard Version(text) != nil, Version.clean(text) == text else {
                throw .malformed(field: "\(path).version", "must be an exact version such as 1.2.3")
            }
            var tree: [PinnedPackage]?
            if let listed = body["tree"], !listed.isNull {
                guard let items = listed.arrayValue else { throw .malformed(field: "\(path).tree", "must be an array of name@version@integrity strings") }
                var pinned: [PinnedPackage] = []
                for (index, item) in items.enumerated() {
                    guard let text = item.stringValue, let package = PinnedPackage(parsing: text) else {
                        throw .malformed(field: "\(path).tree[\(index)]", "must be a name@version@integrity string")
                    }
                    pinned.append(package)
                }
                guard pinned.contains(where: { $0.name == member.key && $0.version == text }) else {
                    throw .malformed(field: "\(path).tree", "must contain \(member.key)@\(text) itself")
                }
                tree = pinned.sorted()
            }
            packages[member.key] = Package(version: text, tree: tree)
        }
        for member in try Self.object(root["ejected"], at: "ejected") {
            let path = "ejected.\(member.key)"
            try Self.checkName(member.key, at: path)
            guard let body = member.value.objectValue else { throw .malformed(field: path, "must be an object with gitUrl, branch and commit") }
            try Self.onlyMembers(body, ["gitUrl", "branch", "commit"], at: path)
            func string(_ name: String) throws(ManifestError) -> String? {
                guard let value = body[name], !value.isNull else { return nil }
                guard let text = value.stringValue else { throw .malformed(field: "\(path).\(name)", "must be a string") }
                return text
            }
            let commit = try string("commit")
            if let commit, commit.count < 7 || commit.count > 64 || !commit.allSatisfy(\.isHexDigit) {
                throw .malformed(field: "\(path).commit", "must be a git commit id (hexadecimal)")
            }
            ejected[member.key] = Ejected(gitUrl: try string("gitUrl"), branch: try string("branch"), commit: commit)
        }
        for member in try Self.object(root["plugins"], at: "plugins") {
            let path = "plugins.\(member.key)"
            try Self.checkName(member.key, at: path)
            guard let body = member.value.objectValue else { throw .malformed(field: path, "must be an object such as {\"enabled\": true}") }
            try Self.onlyMembers(body, ["enabled"], at: path)
            guard let enabled = body["enabled"]?.boolValue else { throw .malformed(field: "\(path).enabled", "is required and must be true or false") }
            plugins[member.key] = enabled
        }
        for member in try Self.object(root["settings"], at: "settings") {
            try Self.checkKey(member.key, at: "settings.\(member.key)")
            guard let text = member.value.stringValue else {
                throw .malformed(field: "settings.\(member.key)", "must be a string (values are stored as text)")
            }
            settings[member.key] = text
        }
        if let listed = root["secrets"] {
            guard let items = listed.arrayValue else { throw .malformed(field: "secrets", "must be an array of setting names") }
            for (index, item) in items.enumerated() {
                guard let key = item.stringValue else { throw .malformed(field: "secrets[\(index)]", "must be a setting name") }
                try Self.checkKey(key, at: "secrets[\(index)]")
                guard secrets.insert(key).inserted else { throw .malformed(field: "secrets[\(index)]", "names \(key) twice") }
                if settings[key] != nil { throw .malformed(field: "secrets[\(index)]", "names \(key), which settings gives a value too") }
            }
        }
    }

    private static func object(_ value: JSONValue?, at path: String) throws(ManifestError) -> JSONObject {
        guard let value else { return JSONObject() }
        guard let object = value.objectValue else { throw .malformed(field: path, "must be an object") }
        return object
    }

    private static func onlyMembers(_ object: JSONObject, _ allowed: Set<String>, at path: String?) throws(ManifestError) {
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw .malformed(field: path.map { "\($0).\(unknown)" } ?? unknown, "is not a manifest field (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func checkName(_ name: String, at path: String) throws(ManifestError) {
        guard PackageName.isValidForNewPackages(name) || PackageName.isLegacyName(name) else {
            throw .malformed(field: path, "is not a valid npm package name")
        }
    }

    /// Setting names as the agent's environment takes them.
    private static func checkKey(_ key: String, at path: String) throws(ManifestError) {
        let valid = !key.isEmpty && key.count <= 200 && key.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)))
        } && !(key.first?.isNumber ?? true)
        guard valid else { throw .malformed(field: path, "is not a setting name (letters, digits and _, not starting with a digit)") }
    }
}
