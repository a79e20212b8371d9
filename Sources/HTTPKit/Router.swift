import JSON

/// What a route expects of the request body.
public enum BodyRule: Sendable {
    /// No body is read; an empty or absent one is fine whatever its type.
    case none
    /// A JSON object with only these members; an empty body counts as `{}`.
    case optionalObject(allowed: Set<String>)
    /// A JSON object with only these members; an empty body is refused.
    case object(allowed: Set<String>)
}

/// Who may call a route.
public enum Access: Sendable {
    /// No token needed.
    case open
    /// A token of at least this role.
    case role(Role)
}

/// Everything a handler gets: the request, the path parameters, the decoded body and who is asking.
public struct RequestContext: Sendable {
    public let request: HTTPRequest
    public let parameters: [String: String]
    public let query: QueryItems
    /// The body as a JSON object (empty when the route takes none).
    public let body: JSONObject
    public let requestId: String
    public let role: Role?

    public init(request: HTTPRequest, parameters: [String: String], query: QueryItems, body: JSONObject, requestId: String, role: Role?) {
        self.request = request
        self.parameters = parameters
        self.query = query
        self.body = body
        self.requestId = requestId
        self.role = role
    }

    /// The path parameter `name`; the route table guarantees it exists.
    public func parameter(_ name: String) -> String { parameters[name] ?? "" }
}

public typealias Handler = @Sendable (RequestContext) throws -> HTTPResponse

/// One line of the route table. A class: matching hands out references, not copies of its fields.
public final class Route: Sendable {
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        /// The rest of the path, one or more segments joined by `/`.
        case rest(String)
    }

    public let method: String
    public let pattern: String
    public let segments: [Segment]
    public let access: Access
    public let body: BodyRule
    public let handler: Handler

    /// `pattern` is written as in the docs: `/api/plugins/:id`, with `*name` for the rest of a path.
    public init(_ method: String, _ pattern: String, _ access: Access, body: BodyRule = .none, _ handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.access = access
        self.body = body
        self.handler = handler
        self.segments = pattern.split(separator: "/").map { part in
            if part.hasPrefix(":") { return .parameter(String(part.dropFirst())) }
            if part.hasPrefix("*") { return .rest(String(part.dropFirst())) }
            return .literal(String(part))
        }
    }

    func match(_ path: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        var i = 0
        for segment in segments {
            switch segment {
            case .literal(let text):
                guard i < path.count, path[i] == text else { return nil }
                i += 1
            case .parameter(let name):
                guard i < path.count, !path[i].isEmpty else { return nil }
                parameters[name] = path[i]
                i += 1
            case .rest(let name):
                guard i < path.count else { return nil }
                parameters[name] = path[i...].joined(separator: "/")
                i = path.count
            }
        }
        return i == path.count ? parameters : nil
    }

    /// Literal segments outrank parameters, so `/plugins/installed` wins over `/plugins/:id`.
    var specificity: [Int] {
        segments.map { switch $0 { case .literal: 2; case .parameter: 1; case .rest: 0 } }
    }
}

/// The outcome of looking a path up in the table.
public enum RouteMatch: Sendable {
    case found(Route, [String: String])
    case methodNotAllowed(allowed: [String])
    case notFound
}

/// The route table: a list of routes, matched most specific first.
public struct Router: Sendable {
    public let routes: [Route]
    /// Routes without parameters by their path (segments joined with NUL, which no segment holds):
    /// most requests name one, and such a pattern outranks every other that matches the same path.
    private let literal: [String: [Route]]
    /// The same routes by their path as written (`/plugins/installed`), for requests whose raw path
    /// is exactly that: such a path has no escapes and no hostile segment, so it needs no decoding.
    private let literalPaths: [Substring: [Route]]

    public init(_ routes: [Route]) {
        // Most specific first; the table's own order breaks ties.
        self.routes = routes.enumerated().sorted { a, b in
            if a.element.specificity == b.element.specificity { return a.offset < b.offset }
            return b.element.specificity.lexicographicallyPrecedes(a.element.specificity)
        }.map(\.element)
        var literal: [String: [Route]] = [:]
        var literalPaths: [Substring: [Route]] = [:]
        for route in self.routes {
            let texts = route.segments.compactMap { segment -> String? in
                if case .literal(let text) = segment { return text } else { return nil }
            }
            guard texts.count == route.segments.count else { continue }
            literal[texts.joined(separator: "\u{0}"), default: []].append(route)
            if !texts.isEmpty, texts.allSatisfy(Self.needsNoDecoding) {
                literalPaths[Substring("/" + texts.joined(separator: "/")), default: []].append(route)
            }
        }
        self.literal = literal
        self.literalPaths = literalPaths
    }

    /// A segment that a raw path carries exactly as it is: no escapes, no dot segment, nothing but
    /// printable ASCII.
    private static func needsNoDecoding(_ segment: String) -> Bool {
        segment != "." && segment != ".." && !segment.isEmpty
            && segment.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "/") }
    }

    /// The route for a raw path (below the prefix, `/health`) that is exactly a parameterless
    /// pattern, if it has one for this method; nil sends the caller the long way (decoding, 405, …).
    public func literalRoute(method: String, rawPath: Substring) -> Route? {
        guard let candidates = literalPaths[rawPath] else { return nil }
        return candidates.first { $0.method == method } ?? (method == "HEAD" ? candidates.first { $0.method == "GET" } : nil)
    }

    public func match(method: String, path: [String]) -> RouteMatch {
        if let candidates = literal[path.joined(separator: "\u{0}")],
            let route = candidates.first(where: { $0.method == method }) ?? candidates.first(where: { method == "HEAD" && $0.method == "GET" })
        {
            return .found(route, [:])
        }
        var allowed: [String] = []
        var chosenPattern: String?
        for route in routes {
            guard let parameters = route.match(path) else { continue }
            // Once a pattern matches, less specific patterns do not add to `Allow`.
            if let chosen = chosenPattern, chosen != route.pattern { continue }
            chosenPattern = route.pattern
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route, parameters)
            }
            allowed.append(route.method)
        }
        guard !allowed.isEmpty else { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        allowed.append("OPTIONS")
        return .methodNotAllowed(allowed: Array(Set(allowed)).sorted())
    }

    /// The methods a path answers to, for `OPTIONS`; nil when no route has the path.
    public func allowedMethods(path: [String]) -> [String]? {
        switch match(method: "\u{0}", path: path) {
        case .methodNotAllowed(let allowed): allowed
        default: nil
        }
    }
}
