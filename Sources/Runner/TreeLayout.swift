import SemVer

/// Where each package of a resolved tree goes under `node_modules`, the way npm (v3 and later) lays a tree out:
/// a dependency is placed as high as it can be without shadowing another version on its dependent's path, and
/// reused where Node's upward lookup already finds a version that satisfies it.
///
/// The layout is checked afterwards by resolving every edge as Node would; a layout where hoisting shadowed an
/// earlier placement falls back to nesting each dependency under its dependent.
public struct TreeLayout: Sendable, Equatable {
    /// `node_modules/a/node_modules/b` → `b@1.2.0` (the project itself, at "", is not among them).
    public let locations: [String: String]

    public init(tree: DependencyTree) throws(InstallError) {
        var placed: [String: String]
        if let hoisted = Self.place(tree, hoist: true), Self.resolves(tree, hoisted) {
            placed = hoisted
        } else if let nested = Self.place(tree, hoist: false), Self.resolves(tree, nested) {
            placed = nested
        } else {
            throw .refused("The dependencies cannot be laid out without a conflict between two versions of one package; plugind does not install them.")
        }
        placed[""] = nil
        locations = placed
    }

    /// The locations in npm's lockfile order (sorted by path).
    public var sortedLocations: [String] { locations.keys.sorted() }

    static func parent(of location: String) -> String? {
        guard !location.isEmpty else { return nil }
        guard let range = location.range(of: "/node_modules/", options: .backwards) else { return "" }
        return String(location[..<range.lowerBound])
    }

    static func child(_ name: String, of location: String) -> String {
        location.isEmpty ? "node_modules/" + name : location + "/node_modules/" + name
    }

    /// Node's lookup: from `start`'s own node_modules up to the root's, the first `name` found.
    static func lookup(_ name: String, from start: String, in placed: [String: String]) -> (location: String, key: String)? {
        var level: String? = start
        while let current = level {
            let candidate = child(name, of: current)
            if let key = placed[candidate] { return (candidate, key) }
            level = parent(of: current)
        }
        return nil
    }

    private static func place(_ tree: DependencyTree, hoist: Bool) -> [String: String]? {
        var placed: [String: String] = ["": tree.root]
        var queue = [""]
        var next = 0
        while next < queue.count {
            let location = queue[next]
            next += 1
            guard let key = placed[location] else { continue }
            for edge in (tree.edges[key] ?? []).sorted(by: { $0.name < $1.name }) {
                // A peer is resolved from the dependent's parent: it must be the dependent's sibling or above.
                let start = edge.kind == .peer ? (parent(of: location) ?? "") : location
                let found = lookup(edge.name, from: start, in: placed)
                if let found, found.key == edge.target { continue }
                let target: String
                if !hoist {
                    target = child(edge.name, of: start)
                    if placed[target] != nil { return nil }
                } else if let found {
                    // Just below the conflicting version, on the way down to the dependent.
                    guard let conflictLevel = parent(of: found.location) else { return nil }
                    target = child(edge.name, of: levelBelow(conflictLevel, towards: start))
                    if placed[target] != nil { return nil }
                } else {
                    target = child(edge.name, of: "")
                }
                placed[target] = edge.target
                queue.append(target)
            }
        }
        return placed
    }

    /// The level one step below `ancestor` on the path from the root to `descendant` (itself when they are equal).
    private static func levelBelow(_ ancestor: String, towards descendant: String) -> String {
        var level = descendant
        while let up = parent(of: level), up != ancestor, !level.isEmpty {
            level = up
        }
        return level == ancestor ? descendant : level
    }

    /// Every edge of every placed package finds its chosen version by Node's lookup.
    private static func resolves(_ tree: DependencyTree, _ placed: [String: String]) -> Bool {
        for (location, key) in placed {
            for edge in tree.edges[key] ?? [] {
                let start = edge.kind == .peer ? (parent(of: location) ?? "") : location
                guard lookup(edge.name, from: start, in: placed)?.key == edge.target else { return false }
            }
        }
        return true
    }
}
