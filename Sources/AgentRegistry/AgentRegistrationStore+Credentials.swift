import Foundation
import Stores

/// The store keeps an id and a secret; the service speaks of the client's credentials.
extension AgentRegistrationStore.Record {
    /// The credentials, when they belong to `registryURL`: an id from another registry means nothing here.
    func credentials(for registryURL: String) -> AgentRegistryClient.Credentials? {
        guard self.registryURL == registryURL, let agentId, let secret else { return nil }
        return AgentRegistryClient.Credentials(agentId: agentId, secret: secret)
    }
}

extension AgentRegistrationStore {
    /// A new registration replaces any earlier one; it counts as a sync (it carried the whole state).
    func saveRegistration(
        registryURL: String, credentials: AgentRegistryClient.Credentials, uri: String?, at time: Date, nextSyncAt: Date?
    ) throws {
        try saveRegistration(
            registryURL: registryURL, agentId: credentials.agentId, secret: credentials.secret, uri: uri, at: time, nextSyncAt: nextSyncAt)
    }
}
