import Adapters
import Operations
import Stores

/// What installing and ejecting share, built once by the wiring: the state directory's layout, the installer
/// identity, the npm registry, the agent config, the operations runner, the restart reasons, the scrubber and the
/// clock their records are stamped by.
public struct PluginWork: Sendable {
    public let layout: InstallLayout
    public let installer: any Installer
    public let npm: NpmRegistryClient
    public let configFile: AgentConfigFile
    public let operations: OperationRunner
    public let reasons: RestartReasonStore
    public let scrubber: SecretScrubber
    public let clock: any WallClock

    public init(
        layout: InstallLayout, installer: any Installer, npm: NpmRegistryClient, configFile: AgentConfigFile, operations: OperationRunner,
        reasons: RestartReasonStore, scrubber: SecretScrubber, clock: any WallClock = SystemClock()
    ) {
        self.layout = layout
        self.installer = installer
        self.npm = npm
        self.configFile = configFile
        self.operations = operations
        self.reasons = reasons
        self.scrubber = scrubber
        self.clock = clock
    }
}
