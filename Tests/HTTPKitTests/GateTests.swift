import Foundation
import Failures
import JSON
import Logging
import Testing
@testable import HTTPKit

struct FixedTokens: TokenVerifier {
    func role(forToken token: String) -> Role? {
        switch token {
        case "admin-token": .admin
        case "read-token": .read
        default: nil
        }
    }
}

struct Boom: Error {}

@Suite struct GateOrderTests {
    let gate: Gatekeeper = {
        let echo: Handler = { context in .json(.object(context.body)) }
        let routes = [
            Route(.get, "/health", .open) { _ in .json(["ok": true]) },
            Route(.get, "/things", .role(.read)) { _ in .json(["things": []]) },
            Route(.post, "/things", .role(.admin), body: .object(allowed: ["name", "count"]), echo),
            Route(.post, "/things/:id/poke", .role(.admin), body: .none) { _ in .json(["poked": true]) },
            Route(.get, "/boom", .role(.read)) { _ in throw Boom() },
        ]
        return Gatekeeper(router: Router(routes), tokens: FixedTokens(), publicOrigins: ["https://dash.example:8443"], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }()

    func send(_ method: String, _ uri: String, token: String? = "admin-token", headers: [String: String] = [:], body: String = "", tooLarge: Bool = false) -> HTTPResponse {
        var all = headers
        if let token { all["authorization"] = "Bearer \(token)" }
        if !body.isEmpty && all["content-type"] == nil { all["content-type"] = "application/json" }
        return gate.respond(to: HTTPRequest(method: HTTPMethod(frontEnd: method)!, uri: uri, headers: all, body: Array(body.utf8), bodyTooLarge: tooLarge, origin: "https://127.0.0.1:8443"))
    }

    func error(_ response: HTTPResponse) -> String? {
        (try? JSONParser.parse(response.body))?["error"]?.stringValue
    }

    /// 413 and hostile segments come before authentication.
    @Test func sizeAndSegmentsFirst() {
        #expect(send("POST", "/api/things", token: nil, tooLarge: true).status == 413)
        #expect(send("GET", "/api/%2e%2e/x", token: nil).status == 400)
    }

    /// A path spelled exactly like a parameterless route takes a short cut past decoding; every other
    /// spelling of it (escapes, a trailing slash) must still reach the same route, and a path that
    /// only looks alike must not.
    @Test func spellingsOfALiteralPath() {
        for uri in ["/api/health", "/api/health?x=1", "/api/he%61lth", "/api/health/", "/api/%68ealth", "/%61pi/health"] {
            #expect(send("GET", uri, token: nil).status == 200, "\(uri)")
        }
        for uri in ["/api/Health", "/api/health/x", "/apix/health", "/api//health", "/api/health%00", "/api\u{301}/health", "/api/health\u{301}"] {
            #expect(send("GET", uri, token: "admin-token").status != 200, "\(uri)")
        }
        #expect(send("POST", "/api/health", headers: ["content-type": "application/json"]).status == 405)
        #expect(send("GET", "/api/things", token: "read-token").status == 200)
        #expect(send("GET", "/api/things", token: nil).status == 401)
    }

    /// Without or with a wrong token: 401 with a Bearer challenge, even on unknown paths; health is open.
    @Test func authentication() {
        for response in [send("GET", "/api/things", token: nil), send("GET", "/api/nowhere", token: "wrong"), send("GET", "/api/things", token: "")] {
            #expect(response.status == 401)
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(error(response) != nil)
        }
        #expect(send("GET", "/api/health", token: nil).status == 200)
        #expect(send("HEAD", "/api/health", token: nil).status == 200)
    }

    /// A read token may look but never change, on any path, before route lookup.
    @Test func readRole() {
        #expect(send("GET", "/api/things", token: "read-token").status == 200)
        #expect(send("POST", "/api/things", token: "read-token", body: #"{"name":"a"}"#).status == 403)
        #expect(send("POST", "/api/no/such/route", token: "read-token").status == 403)
        #expect(send("DELETE", "/api/health", token: "read-token").status == 403)
    }

    /// Foreign origins, opaque origins and cross-site fetches may not change anything; own and public origins may.
    @Test func origins() {
        let body = #"{"name":"a"}"#
        #expect(send("POST", "/api/things", headers: ["origin": "https://evil.example"], body: body).status == 403)
        #expect(send("POST", "/api/things", headers: ["origin": "null"], body: body).status == 403)
        #expect(send("POST", "/api/things", headers: ["sec-fetch-site": "cross-site"], body: body).status == 403)
        #expect(send("POST", "/api/things", headers: ["origin": "https://127.0.0.1:8443"], body: body).status == 200)
        #expect(send("POST", "/api/things", headers: ["origin": "https://DASH.example:8443/"], body: body).status == 200)
        #expect(send("POST", "/api/things", body: body).status == 200)  // curl sends no Origin
        // Reads are not origin-checked.
        #expect(send("GET", "/api/things", headers: ["origin": "https://evil.example"]).status == 200)
        // Origin comes before route lookup.
        #expect(send("POST", "/api/nowhere", headers: ["origin": "https://evil.example"]).status == 403)
    }

    /// After the gates: 404, then 405 with Allow, OPTIONS with Allow.
    @Test func lookup() {
        #expect(send("GET", "/api/nowhere").status == 404)
        #expect(send("GET", "/elsewhere").status == 404)
        let notAllowed = send("DELETE", "/api/things")
        #expect(notAllowed.status == 405)
        #expect(notAllowed.header("Allow") == "GET, HEAD, OPTIONS, POST")
        let options = send("OPTIONS", "/api/things")
        #expect(options.status == 204)
        #expect(options.header("Allow")?.contains("POST") == true)
    }

    /// Body rules: 415 for a non-JSON type, 400 for empty, invalid, non-object, too deep or unknown fields.
    @Test func bodies() {
        #expect(send("POST", "/api/things", headers: ["content-type": "text/plain"], body: #"{"name":"a"}"#).status == 415)
        #expect(send("POST", "/api/things", body: "").status == 400)
        #expect(send("POST", "/api/things", body: "{").status == 400)
        #expect(send("POST", "/api/things", body: "[1]").status == 400)
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        #expect(send("POST", "/api/things", body: #"{"name":"# + deep + "}").status == 400)
        let unknown = send("POST", "/api/things", body: #"{"name":"a","evil":1}"#)
        #expect(unknown.status == 400)
        #expect(error(unknown)?.contains("evil") == true)
        #expect(send("POST", "/api/things", headers: ["content-type": "application/json; charset=utf-8"], body: #"{"count":2}"#).status == 200)
        // A route without a body ignores one of any type.
        #expect(send("POST", "/api/things/1/poke", headers: ["content-type": "text/plain"], body: "whatever").status == 200)
    }

    /// Every response carries a request id; a bug becomes a generic 500 naming it, never the detail.
    @Test func requestIdAndUnexpectedErrors() {
        let response = send("GET", "/api/boom")
        #expect(response.status == 500)
        let id = response.header("X-Request-Id")
        #expect(id?.count == 16)
        #expect(error(response)?.contains(id ?? "-") == true)
        #expect(error(response)?.contains("Boom") == false)
        #expect(send("GET", "/api/health", token: nil).header("X-Request-Id") != nil)
    }

    /// HEAD answers like GET without a body.
    @Test func head() {
        let response = send("HEAD", "/api/things")
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
        #expect(response.header("Content-Length") == String(#"{"things":[]}"#.utf8.count))
    }
}

@Suite struct ErrorMappingTests {
    /// An error body is {"error": sentence} plus its fields; headers carry over.
    @Test func errorBody() throws {
        let error = APIError(409, "Busy.", fields: JSONObject([.init(key: "operationId", value: "abc")]), headers: [("Retry-After", "5")])
        let response = HTTPResponse.error(error)
        #expect(response.status == 409)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"error":"Busy.","operationId":"abc"}"#)
        #expect(response.header("Retry-After") == "5")
        #expect(response.header("Content-Type") == "application/json; charset=utf-8")
    }

    /// A service's error answers with its kind's one status, its sentence, its details and Retry-After; an error
    /// that is not a `UserFacingError` is a 500 that names only the request id.
    @Test func failuresByKind() throws {
        struct Full: UserFacingError {
            var kind: FailureKind { .insufficientStorage }
            var description: String { "The disk is full; free some space." }
            var details: JSONObject { ["path": "/var/lib/plugind"] }
        }
        struct Busy: UserFacingError {
            var kind: FailureKind { .unavailable }
            var description: String { "Too many; try again shortly." }
            var retryAfterSeconds: Int? { 5 }
        }
        struct Unknown: Error {}
        let gate = Gatekeeper(
            router: Router([
                Route(.get, "/full", .open) { _ in throw Full() }, Route(.get, "/busy", .open) { _ in throw Busy() },
                Route(.get, "/unknown", .open) { _ in throw Unknown() },
            ]), tokens: FixedTokens(), logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        let full = gate.respond(to: HTTPRequest(method: .get, uri: "/api/full"))
        #expect(full.status == 507)
        #expect(String(decoding: full.body, as: UTF8.self) == #"{"error":"The disk is full; free some space.","path":"/var/lib/plugind"}"#)
        let busy = gate.respond(to: HTTPRequest(method: .get, uri: "/api/busy"))
        #expect(busy.status == 503 && busy.header("Retry-After") == "5")
        let unknown = gate.respond(to: HTTPRequest(method: .get, uri: "/api/unknown"))
        #expect(unknown.status == 500)
        #expect(String(decoding: unknown.body, as: UTF8.self).contains("request id"))
    }

    /// Each kind has its own status, and the statuses are the ones docs/api.md lists.
    @Test func oneStatusPerKind() {
        let statuses = FailureKind.allCases.map(APIError.status(of:))
        #expect(Set(statuses).count == FailureKind.allCases.count)
        #expect(Set(statuses) == [400, 404, 409, 422, 502, 503, 504, 507])
    }

    /// Every error type a service declares is a `UserFacingError` (or is listed here as one that never reaches a
    /// route), so a new error type cannot silently become a 500.
    @Test func everyServiceErrorSaysItsKind() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        // Errors that are caught and turned into another one inside their module.
        let internalOnly: Set<String> = ["RegistryDocumentError", "RunnerFailure", "Failure", "Refusal", "FormatError"]
        let services = ["Operations", "Plugins", "Runner", "Install", "Eject", "Registry", "AgentRegistry", "Runtime", "Stores", "API"]
        var declared: [String: String] = [:]
        var conforming: Set<String> = []
        let declaration = #/(?:enum|struct|class)\s+(\w+)\s*:\s*([^{]*)\{/#
        let conformance = #/extension\s+(\w+)\s*:\s*[^{]*UserFacingError/#
        for module in services {
            let folder = sources.appendingPathComponent(module)
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for match in text.matches(of: declaration) {
                    let inherits = match.2.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    if inherits.contains("UserFacingError") { conforming.insert(String(match.1)) }
                    if inherits.contains("Error") { declared[String(match.1)] = "\(module)/\(file)" }
                }
                for match in text.matches(of: conformance) { conforming.insert(String(match.1)) }
            }
        }
        #expect(declared.count + conforming.count > 0)
        #expect(conforming.isSuperset(of: ["InstallError", "EjectError", "PluginError", "RegistryError", "OperationError", "StoreError"]))
        let unmapped = declared.keys.filter { !conforming.contains($0) && !internalOnly.contains($0) }.sorted()
        #expect(unmapped.isEmpty, "error types without a kind: \(unmapped.map { "\($0) (\(declared[$0]!))" })")
    }
}

/// CORS for the origins listed in `publicOrigins` (Milady's app on another origin, docs/milady-compatibility.md).
extension GateOrderTests {
    /// (Header names arrive lowercased from the front end, as CGI parameters.)
    /// A preflight carries no token: a listed origin gets 204 with the methods and Milady's headers allowed; any other
    /// origin is gated as before (401) and gets no CORS header. Answers to a listed origin, errors too, say it may read.
    @Test func corsForListedOriginsOnly() {
        let preflight = ["origin": "https://dash.example:8443", "access-control-request-method": "POST"]
        let allowed = send("OPTIONS", "/api/things", token: nil, headers: preflight)
        #expect(allowed.status.code == 204)
        #expect(allowed.header("Access-Control-Allow-Origin") == "https://dash.example:8443")
        #expect(allowed.header("Access-Control-Allow-Methods")?.contains("POST") == true)
        #expect(allowed.header("Access-Control-Allow-Headers")?.contains("X-Milady-Client-Id") == true)
        let stranger = send("OPTIONS", "/api/things", token: nil, headers: ["origin": "https://evil.example", "access-control-request-method": "POST"])
        #expect(stranger.status.code == 401 && stranger.header("Access-Control-Allow-Origin") == nil)
        // A listed origin that is another site altogether may still change things.
        let change = send("POST", "/api/things", headers: ["origin": "https://dash.example:8443", "sec-fetch-site": "cross-site", "content-type": "application/json"], body: #"{"name":"x"}"#)
        #expect(change.status.code == 200 && change.header("Access-Control-Allow-Origin") == "https://dash.example:8443")
        let refused = send("GET", "/api/things", token: nil, headers: ["origin": "https://dash.example:8443"])
        #expect(refused.status.code == 401 && refused.header("Access-Control-Allow-Origin") == "https://dash.example:8443")
        #expect(send("GET", "/api/things", headers: ["origin": "https://evil.example"]).header("Access-Control-Allow-Origin") == nil)
    }
}
