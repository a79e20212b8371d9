import CoreMetrics
import Metrics
import Locking

/// The gatekeeper's count of answered requests, `plugind_http_requests_total{route,method,status}`, and their
/// latency, `plugind_http_request_duration_seconds{route}`, made through whatever `MetricsFactory` it is given.
///
/// `route` is the route table's pattern (`/api/plugins/:id`), never the path a client sent, so the series stay few
/// whatever clients ask for; a request that no route of the table answered (a bad path, `404`, `405`, `413`, a CORS
/// preflight) counts under `unmatched`. `method` is one of the methods HTTP defines, `OTHER` for any other token.
///
/// Every request pays one read lock and two dictionary lookups: the counters and timers are made once per label set
/// and kept here, never asked of the factory again.
public final class RequestMetrics: Sendable {
    /// The route label of requests no route of the table answered.
    public static let unmatched = "unmatched"
    public static let requestsTotal = "plugind_http_requests_total"
    public static let requestDuration = "plugind_http_request_duration_seconds"

    /// One label set, by the matched route's identity and the method's place in `methods` (cheaper to hash than
    /// their names).
    private struct Key: Hashable {
        let route: ObjectIdentifier?
        let method: Int
        let status: Int
    }

    /// The methods HTTP defines keep their name; any other token is `OTHER` (the last), so a client cannot add
    /// series at will.
    static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER"]

    private struct Series {
        var counters: [Key: Counter] = [:]
        var timers: [ObjectIdentifier?: Timer] = [:]
    }

    private let factory: any MetricsFactory
    private let prefix: String
    private let series = ReadMostly(Series())

    /// `prefix` is put before each pattern (the gatekeeper's, `/api`), so the label reads as the path does.
    public init(factory: any MetricsFactory, prefix: String = "/api") {
        self.factory = factory
        self.prefix = prefix
    }

    /// Counts one answered request and its duration.
    public func record(route: Route?, method: HTTPMethod, status: HTTPStatus, duration: Duration) {
        let key = Key(route: route.map(ObjectIdentifier.init), method: Self.index(of: method), status: status.code)
        // After the first requests, every label set is known: a read, which never waits for another reader.
        let known = series.read { series -> (Counter, Timer)? in
            guard let counter = series.counters[key], let timer = series.timers[key.route] else { return nil }
            return (counter, timer)
        }
        let (counter, timer) = known ?? series.write { series -> (Counter, Timer) in
            let counter: Counter
            if let made = series.counters[key] {
                counter = made
            } else {
                counter = Counter(
                    label: Self.requestsTotal,
                    dimensions: [("route", label(route)), ("method", Self.methods[key.method]), ("status", String(status.code))], factory: factory)
                series.counters[key] = counter
            }
            let timer: Timer
            if let made = series.timers[key.route] {
                timer = made
            } else {
                timer = Timer(label: Self.requestDuration, dimensions: [("route", label(route))], factory: factory)
                series.timers[key.route] = timer
            }
            return (counter, timer)
        }
        counter.increment()
        timer.record(duration: duration)
    }

    private func label(_ route: Route?) -> String {
        route.map { prefix + $0.pattern } ?? Self.unmatched
    }

    static func index(of method: HTTPMethod) -> Int {
        switch method {
        case .get: 0
        case .head: 1
        case .post: 2
        case .put: 3
        case .patch: 4
        case .delete: 5
        case .options: 6
        case .connect: 7
        case .trace: 8
        default: 9
        }
    }
}
