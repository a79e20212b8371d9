import Adapters
import Foundation
import JSON
import Locking
import Runner
import Stores

/// The advisories last found for each installed package's tree, by npm name: filled by each install and by every
/// re-check (a registry refresh), shown by `GET /api/plugins/installed`. In memory: a fresh process knows nothing
/// until its first check, which the wiring starts at once.
final class AdvisoryBoard: Sendable {
    struct Entry: Sendable {
        let version: String
        let advisories: [Advisory]
    }

    private let entries = Locked<[String: Entry]>([:])

    func set(_ name: String, version: String, advisories: [Advisory]) {
        entries.withLock { $0[name] = Entry(version: version, advisories: advisories) }
    }

    /// What was found for `name` at `version`; nil when that version has not been checked.
    func advisories(_ name: String, version: String?) -> [Advisory]? {
        entries.withLock { entries in entries[name].flatMap { $0.version == version ? $0.advisories : nil } }
    }
}

extension InstallService {
    /// Asks the registry again about every installed package's tree (as its lockfile records it), in one request
    /// per registry. A failure keeps what was known and is logged.
    public func recheckAdvisories() {
        guard let list = try? installed() else { return }
        var trees: [(name: String, version: String, packages: [(name: String, version: String)])] = []
        for row in list.plugins where !row.missing {
            guard let version = row.version else { continue }
            trees.append((row.name, version, Self.lockedPackages(installPath: row.installPath)))
        }
        guard !trees.isEmpty else { return }
        var unique: [String: (name: String, version: String)] = [:]
        for tree in trees { for package in tree.packages { unique[package.name + "@" + package.version] = package } }
        do {
            let found = try registry.advisories(for: unique.keys.sorted().map { unique[$0]! }, timeoutMs: 30_000)
            for tree in trees {
                let mine = Set(tree.packages.map { $0.name + "@" + $0.version })
                advisories.set(tree.name, version: tree.version, advisories: found.filter { mine.contains($0.package + "@" + $0.version) })
            }
            logger.info("re-checked \(unique.count) installed packages for security advisories: \(found.count) found")
        } catch {
            logger.warning("security advisories could not be re-checked: \(error)")
        }
    }

    /// The packages an install's lockfile (`<installPath>/package-lock.json`) records: the plugin and its tree.
    static func lockedPackages(installPath: String) -> [(name: String, version: String)] {
        guard let data = FileManager.default.contents(atPath: installPath + "/package-lock.json"),
            let lock = try? JSONParser.parse(Array(data), maxDepth: 64), let packages = lock["packages"]?.objectValue
        else { return [] }
        var found: [(name: String, version: String)] = []
        for member in packages where !member.key.isEmpty {
            guard let range = member.key.range(of: "node_modules/", options: .backwards), let version = member.value["version"]?.stringValue else { continue }
            found.append((member.value["name"]?.stringValue ?? String(member.key[range.upperBound...]), version))
        }
        return found
    }
}
