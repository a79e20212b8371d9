import Failures
import Foundation
import JSON
import Locking
import Logging
import Testing
@testable import HTTPKit

/// A recorder that keeps what it is told, in order.
final class KeptMutations: MutationRecorder, @unchecked Sendable {
    let told = Locked<[(mutation: Mutation, status: Int?)]>([])

    struct Scope: MutationScope {
        let index: Int
        let owner: KeptMutations
        func run(_ body: () throws -> HTTPResponse) throws -> HTTPResponse { try body() }
        func finish(status: Int) { owner.told.withLock { $0[index].status = status } }
    }

    func begin(_ mutation: Mutation) -> any MutationScope {
        told.withLock { told in
            told.append((mutation, nil))
            return Scope(index: told.count - 1, owner: self)
        }
    }
}

struct IdentifiedTokens: TokenVerifier {
    func role(forToken token: String) -> Role? { caller(forToken: token)?.role }
    func caller(forToken token: String) -> Caller? {
        switch token {
        case "admin-token": Caller(role: .admin, tokenId: "tok_000000000001", tokenLabel: "ci")
        case "read-token": Caller(role: .read, tokenId: "tok_000000000002", tokenLabel: nil)
        default: nil
        }
    }
}

struct Refused: UserFacingError {
    var kind: FailureKind { .conflict }
    var description: String { "busy" }
}

@Suite struct MutationRecorderTests {
    let recorder = KeptMutations()

    var gate: Gatekeeper {
        let routes = [
            Route(.get, "/things", .role(.read)) { _ in .json(["things": []]) },
            Route(.post, "/things", .role(.admin), body: .object(allowed: ["name", "npmName"])) { _ in .json(["ok": true]) },
            Route(.put, "/things/:id", .role(.admin), body: .optionalObject(allowed: ["name"])) { _ in throw Refused() },
            Route(.delete, "/things/:id", .role(.admin)) { _ in throw Boom() },
        ]
        var gate = Gatekeeper(router: Router(routes), tokens: IdentifiedTokens(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        gate.mutationRecorder = recorder
        return gate
    }

    func send(_ method: String, _ uri: String, token: String? = "admin-token", headers: [String: String] = [:], body: String = "") -> HTTPResponse {
        var all = headers
        if let token { all["authorization"] = "Bearer \(token)" }
        if !body.isEmpty && all["content-type"] == nil { all["content-type"] = "application/json" }
        return gate.respond(to: HTTPRequest(method: HTTPMethod(frontEnd: method)!, uri: uri, headers: all, body: Array(body.utf8), origin: "https://h.example"))
    }

    /// Changing requests past the gates are recorded once each, with the caller's id and label, the route's pattern,
    /// the target (the path's `:id`, else the body's name or npmName), the request id answered and the status —
    /// a thrown error's status too.
    @Test func recordsWhatPassedTheGates() {
        let created = send("POST", "/api/things", body: #"{"name": "alpha"}"#)
        let named = send("POST", "/api/things", body: #"{"npmName": "@x/beta"}"#)
        let conflict = send("PUT", "/api/things/gamma", body: #"{"name": "ignored"}"#)
        let failed = send("DELETE", "/api/things/delta")
        #expect([created, named, conflict, failed].map { Int($0.status.code) } == [200, 200, 409, 500])
        let told = recorder.told.withLock { $0 }
        #expect(told.map(\.mutation.target) == ["alpha", "@x/beta", "gamma", "delta"])
        #expect(told.map(\.status) == [200, 200, 409, 500])
        #expect(told.map(\.mutation.route) == ["/api/things", "/api/things", "/api/things/:id", "/api/things/:id"])
        #expect(told.map(\.mutation.method) == ["POST", "POST", "PUT", "DELETE"])
        #expect(told[0].mutation.requestId == created.header("X-Request-Id"))
        #expect(told.allSatisfy { $0.mutation.caller == Caller(role: .admin, tokenId: "tok_000000000001", tokenLabel: "ci") })
    }

    /// Reads, and changes refused at the gates (401, 403, 404, 405, 415, a malformed or unknown-field body), are not.
    @Test func refusedAndReadsAreNot() {
        let statuses = [
            send("GET", "/api/things"), send("POST", "/api/things", token: nil, body: "{}"), send("POST", "/api/things", token: "read-token", body: #"{"name": "a"}"#),
            send("POST", "/api/things", headers: ["origin": "https://evil.example"], body: #"{"name": "a"}"#), send("POST", "/api/nothing", body: "{}"),
            send("PATCH", "/api/things"), send("POST", "/api/things", headers: ["content-type": "text/plain"], body: "name=a"),
            send("POST", "/api/things", body: "[1]"), send("POST", "/api/things", body: #"{"other": 1}"#), send("OPTIONS", "/api/things"),
        ].map { Int($0.status.code) }
        #expect(statuses == [200, 401, 403, 403, 404, 405, 415, 400, 400, 204])
        #expect(recorder.told.withLock { $0.isEmpty })
    }
}
