import JSON
import Plugins
import Registry

extension BundledRegistry {
    /// The catalogue's plugins as a registry document, in our own words (the catalogue's names and descriptions),
    /// for the registry to answer from until an upstream copy exists. Entries without an npm name are left out.
    init?(catalogue: Catalogue, origin: String) {
        var registry = JSONObject()
        for plugin in catalogue.plugins {
            guard let npmName = plugin.npmName else { continue }
            var entry: JSONObject = [
                "displayName": .string(plugin.name), "description": .string(plugin.description),
                "kind": .string(plugin.category == "app" ? "app" : "plugin"), "tags": .strings([plugin.category]),
            ]
            if let version = plugin.version { entry["version"] = .string(version) }
            if let repository = plugin.repository { entry["repository"] = .string(repository) }
            registry[npmName] = .object(entry)
        }
        guard !registry.isEmpty else { return nil }
        let document: JSONObject = ["registry": .object(registry)]
        self.init(origin: origin, document: JSONWriter.compactBytes(.object(document)))
    }
}
