import Adapters
import Foundation
import JSON

/// The `package.json` and `package-lock.json` (lockfile version 3) of the staging project that makes npm install
/// exactly the verified tree: every entry `resolved` to the tarball plugind downloaded and checked, with its
/// integrity, so `npm ci --offline` fetches nothing and resolves nothing.
enum Lockfile {
    static let projectName = "plugind-install"

    /// The staging project's manifest: the project's own dependency declarations, by kind, in their order.
    static func projectManifest(_ tree: DependencyTree) -> ProjectManifest {
        ProjectManifest(declarations: Declarations(tree.edges[tree.root] ?? []))
    }

    /// `tarballs` maps a package key (`name@version`) to the verified file.
    static func document(tree: DependencyTree, layout: TreeLayout, tarballs: [String: String], integrity: [String: String]) -> PackageLock {
        let packages = layout.sortedLocations.map { location -> (location: String, entry: PackageLock.Entry) in
            let key = layout.locations[location]!
            let package = tree.packages[key]!
            let declared = package.manifest.dependencies.filter { !$0.optionalPeer }.map { (name: $0.name, spec: $0.spec, kind: $0.kind) }
            let entry = PackageLock.Entry(
                version: package.version, resolved: "file:" + tarballs[key]!, integrity: integrity[key], optional: package.optional,
                declarations: Declarations(declared), bin: package.manifest.bin.flatMap { $0.isNull ? nil : $0 })
            return (location, entry)
        }
        return PackageLock(root: .init(declarations: Declarations(tree.edges[tree.root] ?? [])), packages: packages)
    }
}

/// The staging project's `package.json`: `name`, `private`, `description`, then its declarations.
struct ProjectManifest: Encodable {
    let name = Lockfile.projectName
    let isPrivate = true
    let description = "Managed by plugind."
    let declarations: Declarations

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(name, forKey: AnyKey("name"))
        try container.encode(isPrivate, forKey: AnyKey("private"))
        try container.encode(description, forKey: AnyKey("description"))
        try declarations.encode(into: &container)
    }
}

/// `package-lock.json`, version 3: the project itself under `""`, then every package where npm puts it.
struct PackageLock: Encodable {
    /// The project's own entry.
    struct Root: Encodable {
        let name = Lockfile.projectName
        let declarations: Declarations

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(name, forKey: AnyKey("name"))
            try declarations.encode(into: &container)
        }
    }

    /// One package of the tree; `integrity` is left out when unknown, `optional` unless true, `bin` when absent.
    struct Entry: Encodable {
        let version: String
        /// `file:` and the verified tarball.
        let resolved: String
        let integrity: String?
        let optional: Bool
        let declarations: Declarations
        /// As published: npm links it into `node_modules/.bin` from the lockfile.
        let bin: JSONValue?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(version, forKey: AnyKey("version"))
            try container.encode(resolved, forKey: AnyKey("resolved"))
            if let integrity { try container.encode(integrity, forKey: AnyKey("integrity")) }
            if optional { try container.encode(true, forKey: AnyKey("optional")) }
            try declarations.encode(into: &container)
            if let bin { try container.encode(bin, forKey: AnyKey("bin")) }
        }
    }

    let name = Lockfile.projectName
    let lockfileVersion = 3
    let requires = true
    let root: Root
    /// By location (`node_modules/a/node_modules/b`), in the order written.
    let packages: [(location: String, entry: Entry)]

    enum CodingKeys: String, CodingKey {
        case name, lockfileVersion, requires, packages
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(lockfileVersion, forKey: .lockfileVersion)
        try container.encode(requires, forKey: .requires)
        var members = container.nestedContainer(keyedBy: AnyKey.self, forKey: .packages)
        try members.encode(root, forKey: AnyKey(""))
        for package in packages { try members.encode(package.entry, forKey: AnyKey(package.location)) }
    }
}

/// `dependencies`, `optionalDependencies`, `peerDependencies`: each kind only when it has members, names in the
/// order declared. Written as members of the object that holds them.
struct Declarations {
    let kinds: [(kind: Packument.Dependency.Kind, specs: [(name: String, spec: String)])]

    init(_ edges: [DependencyTree.Edge]) {
        self.init(edges.map { (name: $0.name, spec: $0.spec, kind: $0.kind) })
    }

    init(_ edges: [(name: String, spec: String, kind: Packument.Dependency.Kind)]) {
        kinds = [Packument.Dependency.Kind.regular, .optional, .peer].compactMap { kind in
            let specs = edges.filter { $0.kind == kind }.map { (name: $0.name, spec: $0.spec) }
            return specs.isEmpty ? nil : (kind, specs)
        }
    }

    func encode(into container: inout KeyedEncodingContainer<AnyKey>) throws {
        for (kind, specs) in kinds {
            var members = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey(kind.rawValue))
            for (name, spec) in specs { try members.encode(spec, forKey: AnyKey(name)) }
        }
    }
}
