import API
import Foundation
import HTTPKit
import Logging
import Operations
import Settings
import Stores

/// Builds the stores and services from the settings and hands the route table to the gates.
struct Wiring {
    let settings: PlugindSettings
    let database: StateDB
    let operations: OperationRunner
    let gatekeeper: Gatekeeper

    init(settings: PlugindSettings, logger: Logger) throws {
        self.settings = settings
        try FileManager.default.createDirectory(atPath: settings.stateDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        database = try StateDB(path: settings.databasePath)
        operations = OperationRunner(
            store: OperationStore(db: database), maxConcurrent: settings.maxConcurrentOperations,
            deadline: .milliseconds(settings.timeout("operationMs")), logger: logger)
        let deps = Dependencies(
            version: PlugindVersion.current, settings: settings, database: database,
            agentConfig: AgentConfigFile(path: settings.agentConfigPath), operations: operations)
        gatekeeper = Gatekeeper(
            router: Router(RouteTable.routes(deps)), tokens: TokenVerification(store: TokenStore(path: settings.tokensPath)),
            publicOrigins: settings.publicOrigins, translate: ErrorTranslation.translate, logger: logger)
    }
}

/// The token file, as the gates ask about it.
struct TokenVerification: TokenVerifier {
    let store: TokenStore
    func role(forToken token: String) -> Role? {
        switch store.role(of: token) {
        case .admin: .admin
        case .read: .read
        case nil: nil
        }
    }
}
