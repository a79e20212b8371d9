import Foundation
import JSON
import SemVer

/// The `@elizaos/core` version the agent runs (issue 19): the `agentCoreVersion` setting, else the version in the
/// agent's own `@elizaos/core` package (`<bundledPluginsDir>/@elizaos/core/package.json`, where the agent host finds
/// its bundled plugins), else unknown. Read once at start: the agent's core changes only with a new agent build.
enum AgentCore {
    static func version(setting: String?, bundledPluginsDir: String?) -> Version? {
        if let setting { return Version(lenient: setting) }
        guard let directory = bundledPluginsDir,
            let data = FileManager.default.contents(atPath: directory + "/" + CoreCompatibility.corePackage + "/package.json"),
            let manifest = try? JSONParser.parse(Array(data), maxDepth: 64), manifest["name"]?.stringValue == CoreCompatibility.corePackage,
            let text = manifest["version"]?.stringValue
        else { return nil }
        return Version(lenient: text)
    }
}
