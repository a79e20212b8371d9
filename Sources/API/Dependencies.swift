import AgentRegistry
import Eject
import Install
import Operations
import Plugins
import Registry
import Runner
import Runtime
import Settings
import Stores

/// What the route handlers work with, built once by the executable.
public struct Dependencies: Sendable {
    public let version: String
    public let settings: PlugindSettings
    public let database: StateDB
    public let agentConfig: AgentConfigFile
    public let operations: OperationRunner
    public let restartReasons: RestartReasonStore
    /// The audit trail's entries, for `GET /api/audit`.
    public let auditStore: AuditStore
    public let plugins: PluginService
    public let runtime: RuntimeService
    public let registry: RegistryService
    public let install: InstallService
    public let eject: EjectService
    public let agentRegistry: AgentRegistryService
    /// `GET /api/metrics`' text (Prometheus' exposition format); nil when the `metrics` setting is off.
    public let metrics: (@Sendable () -> [UInt8])?

    public init(
        version: String, settings: PlugindSettings, database: StateDB, agentConfig: AgentConfigFile, operations: OperationRunner,
        plugins: PluginService, runtime: RuntimeService, registry: RegistryService, install: InstallService, eject: EjectService,
        agentRegistry: AgentRegistryService, metrics: (@Sendable () -> [UInt8])? = nil
    ) {
        self.metrics = metrics
        self.agentRegistry = agentRegistry
        self.eject = eject
        self.install = install
        self.registry = registry
        self.plugins = plugins
        self.runtime = runtime
        self.version = version
        self.settings = settings
        self.database = database
        self.agentConfig = agentConfig
        self.operations = operations
        self.restartReasons = RestartReasonStore(db: database)
        self.auditStore = AuditStore(db: database)
    }
}
