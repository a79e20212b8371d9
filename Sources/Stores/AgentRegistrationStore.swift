import Foundation
import GRDB

/// This agent's registration in the state database (table `agentRegistration`, one row). Every plugind
/// process on the state directory reads the same row, so status, secret and URI are shared and survive restarts.
public struct AgentRegistrationStore: Sendable {
    public struct Record: Sendable, Equatable, SingleRowRecord {
        public static let databaseTableName = "agentRegistration"

        /// The registry the agent id belongs to.
        public var registryURL: String?
        public var agentId: String?
        public var secret: String?
        public var registeredAt: Date?
        /// Set by update-uri (or register with a URI); wins over the settings file.
        public var uri: String?
        public var lastSyncAt: Date?
        public var lastError: String?
        public var lastErrorAt: Date?
        public var nextSyncAt: Date?

        enum CodingKeys: String, CodingKey {
            case registryURL = "registryUrl"
            case agentId, secret, registeredAt, uri, lastSyncAt, lastError, lastErrorAt, nextSyncAt
        }

        /// The columns writes set (GRDB's name for them, hence public).
        public enum Columns {
            static let registryURL = Column(CodingKeys.registryURL)
            static let agentId = Column(CodingKeys.agentId)
            static let secret = Column(CodingKeys.secret)
            static let registeredAt = Column(CodingKeys.registeredAt)
            static let uri = Column(CodingKeys.uri)
            static let lastSyncAt = Column(CodingKeys.lastSyncAt)
            static let lastError = Column(CodingKeys.lastError)
            static let lastErrorAt = Column(CodingKeys.lastErrorAt)
            static let nextSyncAt = Column(CodingKeys.nextSyncAt)
        }
    }

    typealias Columns = Record.Columns
    let table: SingleRowTable<Record>

    public init(db: StateDB) {
        self.table = SingleRowTable(db: db)
    }

    /// The registration; empty before the first one.
    public func load() throws -> Record {
        try table.load() ?? Record()
    }

    /// A new registration replaces any earlier one; it counts as a sync (it carried the whole state). A nil
    /// `uri` keeps the stored one.
    public func saveRegistration(
        registryURL: String, agentId: String, secret: String, uri: String?, at time: Date, nextSyncAt: Date?
    ) throws {
        var assignments = [
            Columns.registryURL.set(to: registryURL), Columns.agentId.set(to: agentId), Columns.secret.set(to: secret),
            Columns.registeredAt.set(to: time.timeIntervalSince1970), Columns.lastSyncAt.set(to: time.timeIntervalSince1970),
            Columns.lastError.set(to: nil), Columns.lastErrorAt.set(to: nil), Columns.nextSyncAt.set(to: nextSyncAt?.timeIntervalSince1970),
        ]
        if let uri { assignments.append(Columns.uri.set(to: uri)) }
        try table.set(assignments)
    }

    public func saveURI(_ uri: String) throws {
        try table.set([Columns.uri.set(to: uri)])
    }

    /// The registry took the new URI: a success, so an earlier error is over.
    public func saveAcceptedURI(_ uri: String) throws {
        try table.set([Columns.uri.set(to: uri), Columns.lastError.set(to: nil), Columns.lastErrorAt.set(to: nil)])
    }

    public func recordSync(at time: Date, nextSyncAt: Date?) throws {
        try table.set([
            Columns.lastSyncAt.set(to: time.timeIntervalSince1970), Columns.lastError.set(to: nil), Columns.lastErrorAt.set(to: nil),
            Columns.nextSyncAt.set(to: nextSyncAt?.timeIntervalSince1970),
        ])
    }

    public func recordFailure(_ message: String, at time: Date) throws {
        try table.set([Columns.lastError.set(to: message), Columns.lastErrorAt.set(to: time.timeIntervalSince1970)])
    }

    public func saveNextSync(_ date: Date?) throws {
        try table.set([Columns.nextSyncAt.set(to: date?.timeIntervalSince1970)])
    }
}
