import JSON
import Testing
@testable import HTTPKit

@Suite struct RequestPathTests {
    /// Segments are split on literal slashes first, then decoded, so %2F stays inside one segment.
    @Test func encodedSlashStaysInSegment() throws {
        #expect(try RequestPath.segments(of: "/api/plugins/%40elizaos%2Fplugin-x") == ["api", "plugins", "@elizaos/plugin-x"])
        #expect(try RequestPath.segments(of: "/api/plugins/") == ["api", "plugins"])
    }

    /// Dot segments, NUL and control characters are refused with 400, in any encoding.
    @Test(arguments: ["/api/%2e%2e", "/api/..", "/api/%2E", "/api/a/./b", "/api/%00", "/api/a%0Ab", "/api/%7f", "/api/%zz", "/api/%c3"])
    func hostileSegments(_ path: String) {
        do {
            _ = try RequestPath.segments(of: Substring(path))
            Issue.record("\(path) was accepted")
        } catch {
            #expect(error.status == 400)
        }
    }

    /// Query items decode `+` and percent escapes; the last value wins; an empty value is no value.
    @Test func queryItems() throws {
        let query = try QueryItems("q=hello+world&x=1&x=%2F&limit=&offset&state=running&state=")
        #expect(query["q"] == "hello world")
        #expect(query["x"] == "/")
        #expect(query["limit"] == nil)
        #expect(query["offset"] == nil)
        #expect(query["state"] == nil)
        #expect(query["missing"] == nil)
        #expect(throws: APIError.self) { try QueryItems("q=%ZZ") }
    }

    /// The ASCII query string's byte reading gives what the character reading gives (empty pairs skipped,
    /// `=` in a value kept, a name without `=`), and refuses the same malformed escapes.
    @Test func queryItemsEdges() throws {
        let query = try QueryItems("&&=v&a=b=c&flag&q=%E2%9C%93+x&&")
        #expect(query.items.map(\.name) == ["", "a", "flag", "q"])
        #expect(query.items.map(\.value) == ["v", "b=c", "", "\u{2713} x"])
        #expect(try QueryItems("q=caf\u{E9}&r=1")["q"] == "caf\u{E9}")
        for bad in ["q=%", "q=%4", "q=%C3", "%ZZ=1"] {
            #expect(throws: APIError.self) { try QueryItems(Substring(bad)) }
        }
    }
}

@Suite struct BearerTokenTests {
    /// The scheme in any case, spaces and tabs around the token ignored; anything else is no token.
    @Test func headers() {
        #expect(Gatekeeper.bearerToken("Bearer pld_abc") == "pld_abc")
        #expect(Gatekeeper.bearerToken("  bEaReR   pld_abc \t") == "pld_abc")
        #expect(Gatekeeper.bearerToken("Bearer \tpld_abc") == "pld_abc")
        #expect(Gatekeeper.bearerToken("Bearer pld_a b") == "pld_a b")
        for none in ["Bearer", "Bearer ", "Bearer \t ", "Basic pld_abc", "Bearer\tpld_abc", "Bearerx pld_abc", "Beare pld_abc", ""] {
            #expect(Gatekeeper.bearerToken(none) == nil, "\(none)")
        }
        #expect(Gatekeeper.bearerToken("Bearer pld_\u{E9}") == "pld_\u{E9}")
    }
}

@Suite struct RouterTests {
    static let ok: Handler = { _ in .json(["ok": true]) }
    let router = Router([
        Route(.get, "/plugins/:id", .role(.read), ok),
        Route(.put, "/plugins/:id", .role(.admin), ok),
        Route(.get, "/plugins/installed", .role(.read), ok),
        Route(.post, "/plugins/:id/test", .role(.admin), ok),
        Route(.get, "/registry/plugins/*name", .role(.read), ok),
    ])

    /// A literal segment beats a parameter, whatever the table's order.
    @Test func literalWins() {
        guard case .found(let route, let params) = router.match(method: .get, path: ["plugins", "installed"]) else {
            Issue.record("no match"); return
        }
        #expect(route.pattern == "/plugins/installed")
        #expect(params.isEmpty)
    }

    /// Parameters capture decoded segments; the rest pattern takes an unencoded scoped name.
    @Test func parameters() {
        guard case .found(_, let params) = router.match(method: .put, path: ["plugins", "@elizaos/plugin-x"]) else { Issue.record("no match"); return }
        #expect(params["id"] == "@elizaos/plugin-x")
        guard case .found(_, let rest) = router.match(method: .get, path: ["registry", "plugins", "@elizaos", "plugin-x"]) else { Issue.record("no match"); return }
        #expect(rest["name"] == "@elizaos/plugin-x")
    }

    /// A known path with the wrong method is 405 with the allowed methods; HEAD rides on GET.
    @Test func methodNotAllowedAndHead() {
        guard case .methodNotAllowed(let allowed) = router.match(method: .delete, path: ["plugins", "x"]) else { Issue.record("expected 405"); return }
        #expect(allowed == [.get, .head, .options, .put])
        guard case .found(let route, _) = router.match(method: .head, path: ["plugins", "x"]) else { Issue.record("HEAD not served"); return }
        #expect(route.method == .get)
        // The literal route owns its path: PUT there is 405, not the :id route.
        guard case .methodNotAllowed(let onLiteral) = router.match(method: .put, path: ["plugins", "installed"]) else { Issue.record("expected 405"); return }
        #expect(onLiteral == [.get, .head, .options])
    }

    /// Literal before parameter before rest, at every segment and whatever the table's order; a literal that leads
    /// nowhere gives way to the parameter beside it.
    @Test func trieOrder() {
        let handler: Handler = { _ in HTTPResponse(status: 200) }
        let table = Router([
            Route(.get, "/a/*rest", .open, handler), Route(.get, "/a/:id", .open, handler), Route(.get, "/a/:id/x", .open, handler),
            Route(.get, "/a/b", .open, handler), Route(.get, "/a/b/c", .open, handler),
        ])
        func pattern(_ path: [String]) -> String? {
            if case .found(let route, _) = table.match(method: .get, path: path) { return route.pattern }
            return nil
        }
        #expect(pattern(["a", "b"]) == "/a/b")
        #expect(pattern(["a", "z"]) == "/a/:id")
        #expect(pattern(["a", "b", "x"]) == "/a/:id/x")
        #expect(pattern(["a", "b", "c"]) == "/a/b/c")
        #expect(pattern(["a", "b", "q"]) == "/a/*rest")
        #expect(pattern(["a", ""]) == "/a/*rest")
        #expect(pattern(["a"]) == nil)
    }

    /// Unknown paths are 404.
    @Test func notFound() {
        guard case .notFound = router.match(method: .get, path: ["nothing"]) else { Issue.record("expected 404"); return }
        guard case .notFound = router.match(method: .get, path: ["plugins", "x", "y", "z"]) else { Issue.record("expected 404"); return }
    }
}

@Suite struct PathParameterTests {
    /// A parameter the route did not capture, or an empty one, is a 400, never an empty string handed on.
    @Test func missingParameterIs400() throws {
        let context = RequestContext(
            request: HTTPRequest(method: .get, uri: "/api/x"), parameters: ["id": "acp", "empty": ""], query: try QueryItems(""), body: JSONObject(),
            requestId: "r", role: nil)
        #expect(try context.parameter("id") == "acp")
        #expect(throws: APIError.self) { try context.parameter("name") }
        let refusal = #expect(throws: APIError.self) { try context.parameter("empty") }
        #expect(refusal?.status == 400 && refusal?.message == "The request path names no empty.")
    }
}

@Suite struct MethodAndStatusTests {
    /// A front end's method is taken upper-cased, any HTTP token is one, and text that is not a token is none.
    @Test func frontEndMethods() {
        #expect(HTTPMethod(frontEnd: "GET") == .get)
        #expect(HTTPMethod(frontEnd: "get") == .get)
        #expect(HTTPMethod(frontEnd: "Propfind")?.rawValue == "PROPFIND")
        #expect(HTTPMethod(frontEnd: "G T") == nil)
        #expect(HTTPMethod(frontEnd: "") == nil)
    }

    /// The status line's reason depends on the code alone: a status made by code reads like the named one, and a
    /// code without a phrase of ours reads `Status NNN`.
    @Test func statusLineReasons() {
        #expect(HTTPStatus.ok.statusLineReason == "OK")
        #expect(HTTPStatus(code: 200).statusLineReason == "OK")
        #expect(HTTPStatus.contentTooLarge.statusLineReason == "Content Too Large")
        #expect(HTTPStatus(code: 507).statusLineReason == "Insufficient Storage")
        #expect(HTTPStatus(code: 299).statusLineReason == "Status 299")
        #expect(APIError.status(of: .insufficientStorage) == HTTPStatus(code: 507))
    }
}
