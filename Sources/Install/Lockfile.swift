import Foundation
import JSON

/// The `package-lock.json` (lockfile version 3) that makes npm install exactly the verified tree: every entry
/// `resolved` to the tarball plugind downloaded and checked, with its integrity, so `npm ci --offline` fetches
/// nothing and resolves nothing.
enum Lockfile {
    static let projectName = "plugind-install"

    /// `tarballs` maps a package key (`name@version`) to the verified file.
    static func document(tree: DependencyTree, layout: TreeLayout, tarballs: [String: String], integrity: [String: String]) -> JSONValue {
        let root = tree.packages[tree.root]!
        var packages = JSONObject()
        packages[""] = ["name": .string(projectName), "dependencies": [root.name: .string(root.version)]]
        for location in layout.sortedLocations {
            let key = layout.locations[location]!
            let package = tree.packages[key]!
            var entry: JSONObject = ["version": .string(package.version), "resolved": .string("file:" + tarballs[key]!)]
            if let sri = integrity[key] { entry["integrity"] = .string(sri) }
            if package.optional { entry["optional"] = true }
            for kind in [Packument.Dependency.Kind.regular, .optional, .peer] {
                let declared = package.manifest.dependencies.filter { $0.kind == kind }
                if !declared.isEmpty {
                    entry[kind.rawValue] = .object(JSONObject(declared.map { .init(key: $0.name, value: .string($0.spec)) }))
                }
            }
            if let bin = package.manifest.bin, !bin.isNull { entry["bin"] = bin }
            packages[location] = .object(entry)
        }
        return ["name": .string(projectName), "lockfileVersion": 3, "requires": true, "packages": .object(packages)]
    }

    /// The project's package.json, naming the one package it installs.
    static func projectManifest(name: String, version: String) -> JSONValue {
        ["name": .string(projectName), "private": true, "description": "Managed by plugind.", "dependencies": [name: .string(version)]]
    }
}
