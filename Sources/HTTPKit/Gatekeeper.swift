import Failures
import JSON
import Logging

/// Runs every request through the contract's checks, in the contract's order, then its handler.
/// The order decides the status code a client sees, so it lives in exactly one place.
public struct Gatekeeper: Sendable {
    public let router: Router
    public let tokens: any TokenVerifier
    /// Origins the dashboard may be served from besides the one the request arrived on.
    public let publicOrigins: Set<String>
    /// The prefix every route lives under.
    public let prefix: String
    /// `prefix` split into segments, once.
    private let prefixSegments: [String]
    public let maxJSONDepth: Int
    public let logger: Logger
    /// The line per request (through `logger` unless the caller hands a writer of its own).
    public let requestLog: any RequestLog
    /// Told of every changing request that passed the gates (the audit trail); nil: none is recorded.
    public var mutationRecorder: (any MutationRecorder)?
    /// Counts and times every answer by route; nil when metrics are off (then requests pay nothing for them).
    public let metrics: RequestMetrics?

    public init(
        router: Router, tokens: any TokenVerifier, publicOrigins: [String] = [], prefix: String = "/api",
        maxJSONDepth: Int = 64,
        logger: Logger, requestLog: (any RequestLog)? = nil, metrics: RequestMetrics? = nil
    ) {
        self.requestLog = requestLog ?? LoggerRequestLog(logger: logger)
        self.metrics = metrics
        self.router = router
        self.tokens = tokens
        self.publicOrigins = Set(publicOrigins.map { Self.normalise(origin: $0) })
        self.prefix = prefix
        self.prefixSegments = (try? RequestPath.segments(of: Substring(prefix))) ?? []
        self.maxJSONDepth = maxJSONDepth
        self.logger = logger
    }

    /// Answers one request. Never throws: every failure becomes a JSON error response.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        respond(to: request, requestId: RequestID.adopt(request.frontEndRequestId) ?? RequestID.make())
    }

    public func respond(to request: HTTPRequest, requestId: String) -> HTTPResponse {
        let started = ContinuousClock.now
        var response: HTTPResponse
        // The route the table matched, as far as the checks got to look it up (nil: unmatched, for the metrics).
        var matched: Route?
        do {
            response = try process(request, requestId: requestId, matched: &matched)
        } catch {
            let answer = Self.answer(to: error, requestId: requestId)
            if answer.unexpected {
                logger.error("unexpected error", metadata: ["requestId": "\(requestId)", "error": "\(String(describing: error))"])
            }
            response = answer.response
        }
        if let origin = crossOrigin(request) { Self.addCORS(to: &response, origin: origin) }
        if response.header("Content-Type") == nil && !response.body.isEmpty {
            response.setHeader("Content-Type", HTTPResponse.jsonContentType)
        }
        response.setHeader("X-Request-Id", requestId)
        // Answers carry tokens' view of secrets and state: no shared cache keeps them, and only a GET whose answer
        // has an ETag may be kept by the browser, to be revalidated on every use.
        if response.header("Cache-Control") == nil {
            let revalidatable = (request.method == .get || request.method == .head) && response.header("ETag") != nil
            response.headers.append(("Cache-Control", revalidatable ? "private, no-cache" : "no-store"))
        }
        if request.method == .head {
            response.setHeader("Content-Length", String(response.body.count))
            response.body = []
        }
        let duration = started.duration(to: .now)
        metrics?.record(route: matched, method: request.method, status: response.status, duration: duration)
        let elapsed = duration.components
        requestLog.record(RequestLogEntry(
            method: request.method, path: Self.loggablePath(request), status: response.status,
            tenthsOfMs: elapsed.seconds * 10_000 + elapsed.attoseconds / 100_000_000_000_000, requestId: requestId))
        return response
    }

    /// The answer to a thrown error, the one mapping from errors to statuses (the audit trail records the same status);
    /// `unexpected` when it is none of the kinds a client is told about, which the caller logs.
    static func answer(to error: any Error, requestId: String) -> (response: HTTPResponse, unexpected: Bool) {
        if let error = error as? any HTTPResponseError { return (.error(error), false) }
        if let failure = error as? any UserFacingError { return (.error(APIError(failure)), false) }
        return (.error(APIError(.internalServerError, "Something went wrong on our side; the log has the details under request id \(requestId).")), true)
    }

    private func process(_ request: HTTPRequest, requestId: String, matched: inout Route?) throws -> HTTPResponse {
        // 0. Size and hostile path segments, before anything else.
        if request.bodyTooLarge {
            throw APIError(.contentTooLarge, "The request body is larger than this server accepts.")
        }
        let allSegments = try RequestPath.segments(of: request.rawPath)
        guard allSegments.starts(with: prefixSegments) else {
            throw APIError.notFound("No API route has this path.")
        }
        let path = Array(allSegments.dropFirst(prefixSegments.count))
        // A CORS preflight from a listed origin carries no token (browsers never send one): answered before the gates.
        if request.method == .options, request.header("access-control-request-method") != nil, crossOrigin(request) != nil {
            guard let allowed = router.allowedMethods(path: path) else { throw APIError.notFound("No API route has this path.") }
            return HTTPResponse(status: .noContent, headers: [
                ("Allow", Self.allowHeader(allowed)), ("Access-Control-Allow-Methods", Self.allowHeader(allowed)),
                ("Access-Control-Allow-Headers", Self.corsRequestHeaders), ("Access-Control-Max-Age", "600"),
            ])
        }
        let match = router.match(method: request.method, path: path)
        if case .found(let route, _) = match { matched = route }

        // 1. Tokens, unless the route is open.
        let caller: Caller?
        if case .found(let route, _) = match, case .open = route.access {
            caller = nil
        } else {
            caller = try authenticate(request)
        }
        let role = caller?.role
        let mutating: Bool
        switch request.method {
        case .get, .head, .options: mutating = false
        default: mutating = true
        }
        // 2. Read tokens only look.
        if let role, role < .admin, mutating {
            throw APIError(.forbidden, "This token may only read; use an admin token to make changes.")
        }
        // 3. No cross-site changes.
        if mutating { try checkOrigin(request) }

        // 4. Route lookup.
        if request.method == .options {
            guard let allowed = router.allowedMethods(path: path) else { throw APIError.notFound("No API route has this path.") }
            return HTTPResponse(status: .noContent, headers: [("Allow", Self.allowHeader(allowed))])
        }
        let route: Route
        let parameters: [String: String]
        switch match {
        case .notFound:
            throw APIError.notFound("No API route has this path.")
        case .methodNotAllowed(let allowed):
            throw APIError(.methodNotAllowed, "This path does not answer to \(request.method.rawValue).", headers: [("Allow", Self.allowHeader(allowed))])
        case .found(let r, let p):
            route = r
            parameters = p
        }
        if case .role(let needed) = route.access, let role, role < needed {
            throw APIError(.forbidden, "This token may not use this route.")
        }

        // 5. The body.
        let body = try decodeBody(request, rule: route.body)
        let query = try QueryItems(request.rawQuery)
        let context = RequestContext(request: request, parameters: parameters, query: query, body: body, requestId: requestId, role: role)
        return try answer(route, context, caller: caller, mutating: mutating)
    }

    private func authenticate(_ request: HTTPRequest) throws -> Caller {
        let challenge = [(name: "WWW-Authenticate", value: "Bearer realm=\"plugind\"")]
        guard let header = request.header("authorization") else {
            throw APIError(.unauthorized, "This route needs a token: send 'Authorization: Bearer <token>'.", headers: challenge)
        }
        guard let token = Self.bearerToken(header), let caller = tokens.caller(forToken: token) else {
            throw APIError(.unauthorized, "The token is not valid for this plugind; GET /api/sign-in names the command that creates one.", headers: challenge)
        }
        return caller
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme in any case, spaces around the token
    /// ignored); nil for another scheme or no token. Read over the header's bytes: splitting the string walks
    /// it by characters and allocates, on every authenticated request.
    static func bearerToken(_ header: String) -> String? {
        var header = header
        return header.withUTF8 { bytes -> String? in
            guard !bytes.contains(where: { $0 >= 0x80 }) else {
                let text = String(decoding: bytes, as: UTF8.self)
                let parts = text.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
                return parts[1].trimmingSpacesAndTabs()
            }
            let blank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
            var i = 0
            while i < bytes.count, bytes[i] == 0x20 { i += 1 }
            let schemeStart = i
            while i < bytes.count, bytes[i] != 0x20 { i += 1 }
            guard i - schemeStart == 6 else { return nil }
            for (offset, letter) in "bearer".utf8.enumerated() where bytes[schemeStart + offset] | 0x20 != letter { return nil }
            while i < bytes.count, bytes[i] == 0x20 { i += 1 }
            var end = bytes.count
            while end > i, blank(bytes[end - 1]) { end -= 1 }
            while i < end, blank(bytes[i]) { i += 1 }
            guard i < end else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<end]), as: UTF8.self)
        }
    }

    /// The headers a page on a listed origin may send (Milady's app sends the last one on every request).
    static let corsRequestHeaders = "Authorization, Content-Type, X-Operation-Id, X-Milady-Client-Id"

    /// The request's `Origin` when it is another origin listed in `publicOrigins` (CORS applies); else nil.
    func crossOrigin(_ request: HTTPRequest) -> String? {
        guard let origin = request.header("origin") else { return nil }
        let normalised = Self.normalise(origin: origin)
        guard publicOrigins.contains(normalised) else { return nil }
        if let own = request.origin, Self.normalise(origin: own) == normalised { return nil }
        return origin.trimmingSpacesAndTabs()
    }

    /// What lets a page on a listed origin read the answer (errors included): never for any other origin.
    static func addCORS(to response: inout HTTPResponse, origin: String) {
        response.setHeader("Access-Control-Allow-Origin", origin)
        response.setHeader("Access-Control-Expose-Headers", "X-Request-Id, ETag, Allow")
        response.headers.append(("Vary", "Origin"))
    }

    private func checkOrigin(_ request: HTTPRequest) throws {
        // A listed origin may be another site altogether (the app served elsewhere): the operator said it is theirs.
        if crossOrigin(request) != nil { return }
        if request.header("sec-fetch-site")?.lowercased() == "cross-site" {
            throw APIError(.forbidden, "Cross-site requests may not change anything.")
        }
        guard let origin = request.header("origin") else { return }  // curl and other non-browser clients
        let normalised = Self.normalise(origin: origin)
        if normalised == "null" {
            throw APIError(.forbidden, "Requests from an opaque origin may not change anything.")
        }
        if let own = request.origin, Self.normalise(origin: own) == normalised { return }
        if publicOrigins.contains(normalised) { return }
        throw APIError(.forbidden, "Requests from another origin may not change anything; add it to 'publicOrigins' if it is yours.")
    }

    private func decodeBody(_ request: HTTPRequest, rule: BodyRule) throws -> JSONObject {
        let allowed: Set<String>
        let required: Bool
        switch rule {
        case .none: return JSONObject()
        case .optionalObject(let names): allowed = names; required = false
        case .object(let names): allowed = names; required = true
        }
        if request.body.isEmpty || request.body.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            if required { throw APIError.badRequest("This route needs a JSON object body.") }
            return JSONObject()
        }
        let type = request.header("content-type")?.split(separator: ";").first?.trimmingSpacesAndTabs().lowercased() ?? ""
        guard type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json")) else {
            throw APIError(.unsupportedMediaType, "Send the body as JSON with 'Content-Type: application/json'.")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body, maxDepth: maxJSONDepth)
        } catch {
            throw APIError.badRequest("The body is not valid JSON: \(error.description).")
        }
        guard case .object(let object) = value else {
            throw APIError.badRequest("The body must be a JSON object, not \(value.kindName).")
        }
        let unknown = object.keys.filter { !allowed.contains($0) }
        if !unknown.isEmpty {
            let list = unknown.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            throw APIError.badRequest("Unknown field(s) \(list); this route accepts: \(allowed.sorted().joined(separator: ", ")).")
        }
        return object
    }

    /// `GET, HEAD, OPTIONS`: the methods a path answers to, for `Allow`.
    static func allowHeader(_ methods: [HTTPMethod]) -> String {
        methods.map(\.rawValue).joined(separator: ", ")
    }

    static func normalise(origin: String) -> String {
        var o = origin.trimmingSpacesAndTabs().lowercased()
        while o.hasSuffix("/") { o.removeLast() }
        return o
    }

    /// The path for the log: never the query, which could carry something private.
    static func loggablePath(_ request: HTTPRequest) -> Substring {
        let path = request.rawPath
        return path.utf8.count <= 200 ? path : path.prefix(200)
    }
}

/// Request ids: short, random, safe to show.
public enum RequestID {
    /// The front end's id when it is plain hex of a sane length; anything else is not trusted into logs.
    public static func adopt(_ candidate: String?) -> String? {
        guard let candidate, (16...64).contains(candidate.utf8.count),
            candidate.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        return candidate
    }

    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (header values' optional whitespace).
    func trimmingSpacesAndTabs() -> String {
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = utf8.firstIndex(where: { !isBlank($0) }), let last = utf8.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}

extension String {
    func trimmingSpacesAndTabs() -> String { self[...].trimmingSpacesAndTabs() }
}
