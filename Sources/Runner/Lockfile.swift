import Foundation
import JSON

/// The `package.json` and `package-lock.json` (lockfile version 3) of the staging project that makes npm install
/// exactly the verified tree: every entry `resolved` to the tarball plugind downloaded and checked, with its
/// integrity, so `npm ci --offline` fetches nothing and resolves nothing.
enum Lockfile {
    static let projectName = "plugind-install"

    /// The staging project's manifest: the project's own dependency declarations, by kind, in their order.
    static func projectManifest(_ tree: DependencyTree) -> JSONObject {
        var manifest: JSONObject = ["name": .string(projectName), "private": true, "description": "Managed by plugind."]
        for (field, specs) in declarations(tree.edges[tree.root] ?? []) { manifest[field] = .object(specs) }
        return manifest
    }

    /// `tarballs` maps a package key (`name@version`) to the verified file.
    static func document(tree: DependencyTree, layout: TreeLayout, tarballs: [String: String], integrity: [String: String]) -> JSONValue {
        var root: JSONObject = ["name": .string(projectName)]
        for (field, specs) in declarations(tree.edges[tree.root] ?? []) { root[field] = .object(specs) }
        var packages: JSONObject = ["": .object(root)]
        for location in layout.sortedLocations {
            let key = layout.locations[location]!
            let package = tree.packages[key]!
            var entry: JSONObject = ["version": .string(package.version), "resolved": .string("file:" + tarballs[key]!)]
            if let sri = integrity[key] { entry["integrity"] = .string(sri) }
            if package.optional { entry["optional"] = true }
            for (field, specs) in declarations(package.manifest.dependencies.filter { !$0.optionalPeer }.map { Edge(name: $0.name, spec: $0.spec, kind: $0.kind) }) {
                entry[field] = .object(specs)
            }
            if let bin = package.manifest.bin, !bin.isNull { entry["bin"] = bin }
            packages[location] = .object(entry)
        }
        return ["name": .string(projectName), "lockfileVersion": 3, "requires": true, "packages": .object(packages)]
    }

    private struct Edge {
        let name: String
        let spec: String
        let kind: Packument.Dependency.Kind
    }

    private static func declarations(_ edges: [DependencyTree.Edge]) -> [(String, JSONObject)] {
        declarations(edges.map { Edge(name: $0.name, spec: $0.spec, kind: $0.kind) })
    }

    /// `dependencies`, `optionalDependencies`, `peerDependencies`, each only when it has members.
    private static func declarations(_ edges: [Edge]) -> [(String, JSONObject)] {
        [Packument.Dependency.Kind.regular, .optional, .peer].compactMap { kind in
            let members = edges.filter { $0.kind == kind }.map { JSONObject.Member(key: $0.name, value: .string($0.spec)) }
            return members.isEmpty ? nil : (kind.rawValue, JSONObject(members))
        }
    }
}
