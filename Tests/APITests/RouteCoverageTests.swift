import Foundation
import HTTPKit
import JSON
import TestWorld
import Testing

/// The route table as a whole: every gate on every route, and every route's documented outcomes tested in-process.
@Suite struct RouteCoverageTests {
    /// A path that reaches `route`, its parameters filled with names the world knows.
    static func samplePath(_ route: Route) -> String {
        "/" + route.segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter: World.ejectable.id
            case .rest: World.ejectable.npm
            }
        }.joined(separator: "/")
    }

    /// Before any handler runs: no token is 401 with a Bearer challenge, a read token on an admin route 403, a change
    /// from another site or origin 403, a body that is not JSON 415 and a JSON body that is not an object 400. Not
    /// one of them changes the agent config or starts an operation.
    @Test func gatesOnEveryRoute() throws {
        let world = try World()
        let before = world.agentConfig
        let routes = world.wiring.gatekeeper.router.routes
        #expect(routes.count >= 30)
        for route in routes {
            let path = Self.samplePath(route)
            let name = "\(route.method) \(route.pattern)"
            guard case .role(let role) = route.access else { continue }
            let anonymous = world.send(route.method.rawValue, path, token: .none)
            #expect(anonymous.status == 401 && anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(name) without a token")
            #expect(world.send(route.method.rawValue, path, token: .raw("Bearer not-a-token")).status == 401, "\(name) with a bad token")
            if role == .admin {
                #expect(world.send(route.method.rawValue, path, token: .read).status == 403, "\(name) with a read token")
            }
            guard route.method != .get else { continue }
            #expect(world.send(route.method.rawValue, path, headers: ["origin": "https://evil.example"]).status == 403, "\(name) from another origin")
            #expect(world.send(route.method.rawValue, path, headers: ["origin": "null"]).status == 403, "\(name) from an opaque origin")
            #expect(world.send(route.method.rawValue, path, headers: ["sec-fetch-site": "cross-site"]).status == 403, "\(name) cross-site")
            if case .none = route.body { continue }
            #expect(world.send(route.method.rawValue, path, body: Array("name=x".utf8), contentType: "application/x-www-form-urlencoded").status == 415, "\(name) form body")
            #expect(world.send(route.method.rawValue, path, json: [1, 2]).status == 400, "\(name) array body")
            #expect(world.send(route.method.rawValue, path, json: ["unknownField": true]).status == 400, "\(name) unknown field")
        }
        #expect(world.agentConfig == before)
        #expect(try world.wiring.operations.store.list().isEmpty)
    }

    /// Every route in the table is documented in docs/openapi.yaml, and every outcome the docs give it that the route
    /// itself decides — its success, 304, 404, 409 and 422 — has an in-process test: a `world.check("METHOD /pattern",
    /// path, status)` call in this folder (which verifies, when it runs, that the path reaches that route and answers
    /// that status). Gates (400 bodies, 401, 403, 415) are covered for every route by `gatesOnEveryRoute`; statuses
    /// only nginx or an outage produces (413, 414, 500, 502, 503, 504, 507) by the end-to-end suite.
    @Test func everyRouteHasItsCases() throws {
        let world = try World()
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let documented = try Self.documentedStatuses(here.appendingPathComponent("../../docs/openapi.yaml").standardized.path)
        var tested: Set<String> = []
        let call = #/check\(\s*"([A-Z]+ [^"]+)",[^\n]*?,\s*(\d{3})\b/#
        for file in try FileManager.default.contentsOfDirectory(atPath: here.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: here.appendingPathComponent(file).path, encoding: .utf8)
            for match in text.matches(of: call) { tested.insert("\(match.1) \(match.2)") }
        }
        var missing: [String] = []
        for route in world.wiring.gatekeeper.router.routes {
            let key = "\(route.method) \(route.pattern)"
            guard let statuses = documented[key] else {
                missing.append("\(key): not in docs/openapi.yaml")
                continue
            }
            for status in statuses where [200, 304, 404, 409, 422].contains(status) && !tested.contains("\(key) \(status)") {
                missing.append("\(key) \(status)")
            }
        }
        #expect(missing.isEmpty, "no in-process test: \(missing.joined(separator: "; "))")
        #expect(tested.count >= 60)
    }

    /// docs/openapi.yaml's statuses per route, keyed like the route table ("PUT /plugins/:id"): read from its layout
    /// (paths at two spaces, methods at four, statuses at eight).
    static func documentedStatuses(_ path: String) throws -> [String: Set<Int>] {
        var result: [String: Set<Int>] = [:]
        var currentPath: String?
        var currentMethod: String?
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if let match = line.wholeMatch(of: #/  (/api/[^:]*):\s*/#) {
                currentPath = String(String(match.1).dropFirst(4)).replacing("{id}", with: ":id").replacing("{name}", with: "*name")
                currentMethod = nil
            } else if let match = line.wholeMatch(of: #/    (get|put|post|delete|patch):\s*/#) {
                currentMethod = match.1.uppercased()
            } else if let match = line.prefixMatch(of: #/        "(\d{3})":/#), let currentPath, let currentMethod {
                result["\(currentMethod) \(currentPath)", default: []].insert(Int(match.1)!)
            } else if line.hasPrefix("  ") == false && !line.isEmpty && !line.hasPrefix("#") {
                currentPath = nil
            }
        }
        return result
    }
}
