import HTTPKit

/// Every /api route: method, path, who may call it, what body it takes, and the handler.
/// Reading this file is how to learn the API; handlers live beside their service's routes.
public enum RouteTable {
    public static func routes(_ deps: Dependencies) -> [Route] {
        let system = SystemRoutes(deps: deps)
        return [
            Route("GET", "/health", .open, system.health),
            Route("GET", "/settings", .role(.read), system.settings),
            Route("GET", "/operations", .role(.read), system.listOperations),
            Route("GET", "/operations/:id", .role(.read), system.operation),
        ]
    }
}
