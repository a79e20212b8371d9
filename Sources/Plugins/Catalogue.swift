import Foundation
import JSON

/// The bundled catalogue: a `plugin-index-v1` manifest (the format of Milady's plugins.json).
public struct Catalogue: Sendable {
    public let plugins: [KnownPlugin]
    /// Things worth a log line that never stop loading (a wrong `count`, skipped entries).
    public let warnings: [String]

    public static let empty = Catalogue(plugins: [], warnings: [])

    init(plugins: [KnownPlugin], warnings: [String]) {
        self.plugins = plugins
        self.warnings = warnings
    }

    /// The source repository the catalogue names for an npm package, if any.
    public func repository(of npmName: String) -> String? {
        plugins.first { $0.npmName == npmName }?.repository
    }

    public static func load(path: String) throws(PluginError) -> Catalogue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .catalogueUnreadable(path: path, reason: "cannot read the file")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(data), maxDepth: 64)
        } catch {
            throw .catalogueUnreadable(path: path, reason: error.description)
        }
        return parse(document)
    }

    public static func parse(_ document: JSONValue) -> Catalogue {
        var warnings: [String] = []
        guard let entries = document["plugins"]?.arrayValue else {
            return Catalogue(plugins: [], warnings: ["the catalogue has no 'plugins' list"])
        }
        if let count = document["count"]?.intValue, count != entries.count {
            warnings.append("the catalogue says count \(count) but holds \(entries.count) entries; all \(entries.count) are loaded")
        }
        var plugins: [KnownPlugin] = []
        var seen: Set<String> = []
        for (index, entry) in entries.enumerated() {
            let npmName = entry["npmName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            guard let key = npmName ?? entry["id"]?.stringValue, !key.isEmpty else {
                warnings.append("entry \(index) has neither an npm name nor an id; skipped")
                continue
            }
            guard seen.insert(key).inserted else {
                warnings.append("entry \(index) repeats \(key); the first one is kept")
                continue
            }
            var parameters: [PluginParameter] = []
            if let declared = entry["pluginParameters"]?.objectValue {
                parameters = declared.map { PluginParameter(key: $0.key, declaration: $0.value) }
            }
            // Keys listed in configKeys but not described still exist.
            let described = Set(parameters.map(\.key))
            for key in entry["configKeys"]?.arrayValue?.compactMap(\.stringValue) ?? [] where !described.contains(key) {
                parameters.append(PluginParameter(key: key, type: .string))
            }
            let shortId = PluginIdentity.shortId(key)
            var plugin = KnownPlugin(
                key: key, npmName: npmName, name: entry["name"]?.stringValue ?? KnownPlugin.displayName(forShortId: shortId),
                description: entry["description"]?.stringValue ?? "", category: KnownPlugin.normalisedCategory(entry["category"]?.stringValue),
                version: entry["version"]?.stringValue, source: .bundled, parameters: parameters, available: false)
            plugin.repository = entry["repository"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            plugin.extras = KnownPlugin.Extras(entry)
            plugins.append(plugin)
        }
        return Catalogue(plugins: plugins, warnings: warnings)
    }
}
