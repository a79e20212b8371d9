import Foundation
import JSON
import Locking
import Stores

/// Where plugin code lives on disk.
public struct PluginPaths: Sendable {
    /// `<stateDir>/plugins/installed`: one directory per package, npm's tree inside.
    public let installRoot: String
    /// `<stateDir>/plugins/ejected`: one git checkout per plugin.
    public let ejectedRoot: String
    /// The agent's own node_modules, if configured.
    public let bundledPluginsDir: String?

    public init(stateDir: String, bundledPluginsDir: String?) {
        let layout = StateLayout(root: stateDir)
        self.installRoot = layout.installed
        self.ejectedRoot = layout.ejected
        self.bundledPluginsDir = bundledPluginsDir
    }

    /// The package.json of a package in the agent's bundled plugins, if that directory is configured.
    public func bundledManifestPath(of npmName: String) -> String? {
        bundledPluginsDir.map { $0 + "/" + npmName + "/package.json" }
    }

    /// The version of a package the agent bundles, when its package.json is there and names it.
    public func bundledVersion(of npmName: String) -> String? {
        guard let path = bundledManifestPath(of: npmName),
            let manifest = FileManager.default.contents(atPath: path).flatMap({ try? JSONParser.parse(Array($0), maxDepth: 64) }),
            manifest["name"]?.stringValue == npmName
        else { return nil }
        return manifest["version"]?.stringValue
    }

    /// The package directory inside an install directory.
    public static func packageDirectory(installPath: String, npmName: String) -> String {
        installPath + "/node_modules/" + npmName
    }
}

/// Gathers every known plugin: the catalogue, installed packages, ejected copies, and plugins named
/// only in the agent config. An ejected copy overrides an installed package, which overrides the catalogue.
public struct PluginInventory: Sendable {
    public let catalogue: Catalogue
    public let paths: PluginPaths
    public let core: CorePolicy

    public init(catalogue: Catalogue, paths: PluginPaths, core: CorePolicy) {
        self.catalogue = catalogue
        self.paths = paths
        self.core = core
    }

    public func plugins(config: JSONObject) -> [KnownPlugin] {
        var byKey: [String: KnownPlugin] = [:]
        var order: [String] = []
        func add(_ plugin: KnownPlugin) {
            if let existing = byKey[plugin.key] {
                guard existing.source <= plugin.source else { return }
                var merged = plugin
                // A package that declares nothing keeps the catalogue's description of its keys.
                if merged.parameters.isEmpty { merged.parameters = existing.parameters }
                if merged.description.isEmpty { merged.description = existing.description }
                if merged.category == "feature" { merged.category = existing.category }
                if merged.name == KnownPlugin.displayName(forShortId: PluginIdentity.shortId(merged.key)) { merged.name = existing.name }
                merged.extras = merged.extras.filled(from: existing.extras)
                byKey[plugin.key] = merged
            } else {
                byKey[plugin.key] = plugin
                order.append(plugin.key)
            }
        }
        for var plugin in catalogue.plugins {
            if let npm = plugin.npmName, let manifest = paths.bundledManifestPath(of: npm) {
                plugin.available = FileManager.default.fileExists(atPath: manifest)
            }
            add(plugin)
        }
        for npm in core.core + core.optional where byKey[npm] == nil {
            add(KnownPlugin(
                key: npm, npmName: npm, name: KnownPlugin.displayName(forShortId: PluginIdentity.shortId(npm)), description: "",
                category: "feature", version: nil, source: .bundled, parameters: [],
                available: paths.bundledManifestPath(of: npm).map { FileManager.default.fileExists(atPath: $0) } ?? false))
        }
        for plugin in installed(config: config) { add(plugin) }
        for plugin in ejected() { add(plugin) }
        for npm in configOnly(config: config) where byKey[npm] == nil {
            add(KnownPlugin(
                key: npm, npmName: npm, name: KnownPlugin.displayName(forShortId: PluginIdentity.shortId(npm)), description: "",
                category: "feature", version: nil, source: .config, parameters: [], available: false))
        }
        return order.compactMap { byKey[$0] }
    }

    /// Install records from the agent config, plus install directories no record names.
    func installed(config: JSONObject) -> [KnownPlugin] {
        var result: [KnownPlugin] = []
        var recorded: Set<String> = []
        if let installs = config["plugins"]?["installs"]?.objectValue {
            for record in installs {
                let npm = record.key
                let installPath = record.value["installPath"]?.stringValue ?? paths.installRoot + "/" + PluginIdentity.directoryName(npm)
                recorded.insert(installPath)
                result.append(package(npm: npm, at: PluginPaths.packageDirectory(installPath: installPath, npmName: npm), source: .installed, recordedVersion: record.value["version"]?.stringValue, path: installPath))
            }
        }
        for directory in (try? FileManager.default.contentsOfDirectory(atPath: paths.installRoot)) ?? [] where !directory.hasPrefix(".") {
            let installPath = paths.installRoot + "/" + directory
            guard !recorded.contains(installPath), let manifest = readJSON(installPath + "/package.json"),
                let dependencies = manifest["dependencies"]?.objectValue
            else { continue }
            for npm in dependencies.keys where PluginIdentity.directoryName(npm) == directory {
                result.append(package(npm: npm, at: PluginPaths.packageDirectory(installPath: installPath, npmName: npm), source: .installed, recordedVersion: nil, path: installPath))
            }
        }
        return result
    }

    func ejected() -> [KnownPlugin] {
        var result: [KnownPlugin] = []
        for directory in (try? FileManager.default.contentsOfDirectory(atPath: paths.ejectedRoot)) ?? [] where !directory.hasPrefix(".") {
            let path = paths.ejectedRoot + "/" + directory
            guard let manifest = readJSON(path + "/package.json"), let npm = manifest["name"]?.stringValue else { continue }
            result.append(package(npm: npm, at: path, source: .ejected, recordedVersion: nil, path: path))
        }
        return result
    }

    private func package(npm: String, at directory: String, source: PluginSource, recordedVersion: String?, path: String) -> KnownPlugin {
        let manifest = readJSON(directory + "/package.json")
        var plugin = KnownPlugin(
            key: npm, npmName: npm,
            name: manifest?["agentConfig"]?["displayName"]?.stringValue ?? KnownPlugin.displayName(forShortId: PluginIdentity.shortId(npm)),
            description: manifest?["description"]?.stringValue ?? "",
            category: KnownPlugin.normalisedCategory(manifest?["agentConfig"]?["category"]?.stringValue),
            version: manifest?["version"]?.stringValue ?? recordedVersion, source: source,
            parameters: manifest.map(KnownPlugin.parameters(fromPackage:)) ?? [], available: manifest != nil, path: path)
        plugin.extras = KnownPlugin.Extras(manifest?["agentConfig"])
        return plugin
    }

    /// Plugins the agent config names (entries and allow) that nothing else describes.
    func configOnly(config: JSONObject) -> [String] {
        var names: [String] = []
        for key in config["plugins"]?["entries"]?.objectValue?.keys ?? [] { names.append(PluginIdentity.npmName(fromConfigKey: key)) }
        for item in config["plugins"]?["allow"]?.arrayValue ?? [] {
            if let key = item.stringValue { names.append(PluginIdentity.npmName(fromConfigKey: key)) }
        }
        return names
    }

    private func readJSON(_ path: String) -> JSONValue? {
        ParsedJSONFiles.shared.value(at: path)
    }
}

/// The catalogue file, re-read when it changes on disk.
public final class CatalogueSource: Sendable {
    public let path: String?
    private let cache = Locked<(stamp: FileStamp, catalogue: Catalogue)?>(nil)
    /// Told about a loaded catalogue's warnings (a wrong count, skipped entries), once per load.
    private let onWarnings: @Sendable ([String]) -> Void

    public init(path: String?, onWarnings: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.path = path
        self.onWarnings = onWarnings
    }

    public func current() throws(PluginError) -> Catalogue {
        guard let path else { return .empty }
        guard let stamp = FileStamp.current(path) else { throw .catalogueUnreadable(path: path, reason: "the file does not exist") }
        if let hit = cache.withLock({ $0.flatMap { $0.stamp == stamp ? $0.catalogue : nil } }) { return hit }
        let loaded = try Catalogue.load(path: path)
        cache.withLock { $0 = (stamp, loaded) }
        if !loaded.warnings.isEmpty { onWarnings(loaded.warnings) }
        return loaded
    }

    /// Changes whenever the file does.
    public func stamp() -> String {
        guard let path else { return "none" }
        return FileStamp.current(path)?.description ?? "missing"
    }
}
