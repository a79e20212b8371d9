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

    /// The path parameter `name`; a route whose pattern does not capture it, or an empty one, is a 400 rather than
    /// an empty string passed on.
    public func parameter(_ name: String) throws(APIError) -> String {
        guard let value = parameters[name], !value.isEmpty else { throw APIError.badRequest("The request path names no \(name).") }
        return value
    }
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

    public let method: HTTPMethod
    public let pattern: String
    public let segments: [Segment]
    public let access: Access
    public let body: BodyRule
    public let handler: Handler

    /// `pattern` is written as in the docs: `/api/plugins/:id`, with `*name` for the rest of a path.
    public init(_ method: HTTPMethod, _ pattern: String, _ access: Access, body: BodyRule = .none, _ handler: @escaping Handler) {
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

}

/// The outcome of looking a path up in the table.
public enum RouteMatch: Sendable {
    case found(Route, [String: String])
    case methodNotAllowed(allowed: [HTTPMethod])
    case notFound
}

/// The route table as a trie over decoded path segments: at each step a literal segment is tried before a
/// parameter, and a parameter before the rest of the path, so `/plugins/installed` wins over `/plugins/:id`
/// whatever order the table lists them in. One lookup for every request.
public struct Router: Sendable {
    /// The routes in the table's order.
    public let routes: [Route]
    private let root: Node

    /// One point of the trie: the routes whose pattern ends here (by method), and where each kind of segment leads.
    private final class Node: @unchecked Sendable {
        var routes: [(method: HTTPMethod, route: Route)] = []
        var literals: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        var rest: (name: String, node: Node)?

        func route(for method: HTTPMethod) -> Route? {
            routes.first { $0.method == method }?.route ?? (method == .head ? routes.first { $0.method == .get }?.route : nil)
        }

        /// The methods this point answers to: its routes', HEAD where there is GET, and OPTIONS; by name.
        var allowed: [HTTPMethod] {
            var allowed = Set(routes.map(\.method))
            if allowed.contains(.get) { allowed.insert(.head) }
            allowed.insert(.options)
            return allowed.sorted { $0.rawValue < $1.rawValue }
        }
    }

    public init(_ routes: [Route]) {
        self.routes = routes
        let root = Node()
        for route in routes {
            var node = root
            for segment in route.segments {
                switch segment {
                case .literal(let text):
                    let next = node.literals[text] ?? Node()
                    node.literals[text] = next
                    node = next
                case .parameter(let name):
                    let next = node.parameter?.node ?? Node()
                    node.parameter = (name, next)
                    node = next
                case .rest(let name):
                    let next = node.rest?.node ?? Node()
                    node.rest = (name, next)
                    node = next
                }
            }
            node.routes.append((route.method, route))
        }
        self.root = root
    }

    /// The most specific pattern matching `path`: its node and the parameters taken on the way.
    private func find(_ path: [String]) -> (Node, [String: String])? {
        Self.walk(root, path, 0)
    }

    private static func walk(_ node: Node, _ path: [String], _ index: Int) -> (Node, [String: String])? {
        if index == path.count { return node.routes.isEmpty ? nil : (node, [:]) }
        let segment = path[index]
        if let next = node.literals[segment], let found = walk(next, path, index + 1) { return found }
        if let parameter = node.parameter, !segment.isEmpty, var found = walk(parameter.node, path, index + 1) {
            found.1[parameter.name] = segment
            return found
        }
        if let rest = node.rest, !rest.node.routes.isEmpty {
            return (rest.node, [rest.name: path[index...].joined(separator: "/")])
        }
        return nil
    }

    public func match(method: HTTPMethod, path: [String]) -> RouteMatch {
        guard let (node, parameters) = find(path) else { return .notFound }
        if let route = node.route(for: method) { return .found(route, parameters) }
        return .methodNotAllowed(allowed: node.allowed)
    }

    /// The methods a path answers to, for `OPTIONS`; nil when no route has the path.
    public func allowedMethods(path: [String]) -> [HTTPMethod]? {
        find(path)?.0.allowed
    }
}
