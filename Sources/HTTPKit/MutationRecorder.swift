import Failures

/// Who is asking: the token's role, and its id and label when the token store gives them (for the audit trail;
/// never the token itself).
public struct Caller: Sendable, Equatable {
    public let role: Role
    public let tokenId: String?
    public let tokenLabel: String?

    public init(role: Role, tokenId: String? = nil, tokenLabel: String? = nil) {
        self.role = role
        self.tokenId = tokenId
        self.tokenLabel = tokenLabel
    }
}

extension TokenVerifier {
    /// A verifier that knows only roles gives callers without an id.
    public func caller(forToken token: String) -> Caller? {
        role(forToken: token).map { Caller(role: $0) }
    }
}

/// One changing request (POST, PUT, PATCH, DELETE) that passed every gate, as a recorder is told of it.
public struct Mutation: Sendable, Equatable {
    public let method: String
    /// The route table's pattern with the prefix: `/api/plugins/:id`.
    public let route: String
    public let requestId: String
    public let caller: Caller?
    /// What the request acts on, as the client named it: the path's `:id`, else the body's `name` or `npmName`.
    public let target: String?

    public init(method: String, route: String, requestId: String, caller: Caller?, target: String?) {
        self.method = method
        self.route = route
        self.requestId = requestId
        self.caller = caller
        self.target = target
    }
}

/// Keeps a record of every changing request (the audit trail): told when one has passed the gates, it runs the
/// handler inside a scope of its own (so what the handler changes is the request's) and is told the status answered.
/// Requests refused at the gates are never recorded.
public protocol MutationRecorder: Sendable {
    func begin(_ mutation: Mutation) -> any MutationScope
}

/// One recorded request, from its gates to its answer.
public protocol MutationScope: Sendable {
    /// Runs the handler with this scope as the current one.
    func run(_ body: () throws -> HTTPResponse) throws -> HTTPResponse
    /// The request was answered with `status` (after its handler returned or threw).
    func finish(status: Int)
}

extension Gatekeeper {
    /// Runs the handler; a changing request is recorded first when a recorder is set.
    func answer(_ route: Route, _ context: RequestContext, caller: Caller?, mutating: Bool) throws -> HTTPResponse {
        guard mutating, let recorder = mutationRecorder else { return try route.handler(context) }
        let target = context.parameters["id"] ?? context.body["name"]?.stringValue ?? context.body["npmName"]?.stringValue
        let scope = recorder.begin(Mutation(
            method: context.request.method.rawValue, route: prefix + route.pattern, requestId: context.requestId, caller: caller,
            target: target.flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }))
        do {
            let response = try scope.run { try route.handler(context) }
            scope.finish(status: response.status.code)
            return response
        } catch {
            scope.finish(status: Self.answer(to: error, requestId: context.requestId).response.status.code)
            throw error
        }
    }
}
