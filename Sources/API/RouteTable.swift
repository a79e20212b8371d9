import HTTPKit

/// Every /api route: method, path, who may call it, what body it takes, and the handler.
/// Reading this file is how to learn the API; handlers live beside their service's routes.
public enum RouteTable {
    public static func routes(_ deps: Dependencies) -> [Route] {
        let system = SystemRoutes(deps: deps)
        let plugins = PluginRoutes(service: deps.plugins, cache: ResponseCache())
        let runtime = RuntimeRoutes(service: deps.runtime)
        let install = InstallRoutes(service: deps.install)
        let eject = EjectRoutes(service: deps.eject, plugins: deps.plugins)
        let agentRegistry = AgentRegistryRoutes(service: deps.agentRegistry)
        let registry = RegistryRoutes(registry: deps.registry, plugins: deps.plugins, operations: deps.operations, cache: ResponseCache())
        return [
            Route("GET", "/health", .open, system.health),
            Route("GET", "/sign-in", .open, system.signIn),
            Route("GET", "/session", .role(.read), system.session),
            Route("GET", "/settings", .role(.read), system.settings),
            Route("GET", "/operations", .role(.read), system.listOperations),
            Route("GET", "/operations/:id", .role(.read), system.operation),

            Route("GET", "/plugins", .role(.read), plugins.list),
            Route("GET", "/plugins/installed", .role(.read), install.installed),
            Route("POST", "/plugins/install", .role(.admin), body: .object(allowed: ["name", "version", "enable", "force"]), install.install),
            Route("POST", "/plugins/uninstall", .role(.admin), body: .object(allowed: ["name", "purgeConfig"]), install.uninstall),

            Route("GET", "/plugins/ejected", .role(.read), eject.ejected),
            Route("POST", "/plugins/:id/eject", .role(.admin), eject.eject),
            Route("POST", "/plugins/:id/sync", .role(.admin), body: .optionalObject(allowed: ["pull"]), eject.sync),
            Route("POST", "/plugins/:id/reinject", .role(.admin), body: .optionalObject(allowed: ["force"]), eject.reinject),

            Route("GET", "/plugins/:id", .role(.read), plugins.get),
            Route("PUT", "/plugins/:id", .role(.admin), body: .object(allowed: ["enabled", "config"]), plugins.update),
            Route("POST", "/plugins/:id/test", .role(.admin), plugins.test),

            Route("GET", "/core/status", .role(.read), plugins.coreStatus),
            Route("GET", "/plugins/core", .role(.read), plugins.coreList),
            Route("POST", "/plugins/core/toggle", .role(.admin), body: .object(allowed: ["name", "npmName", "enabled"]), plugins.coreToggle),

            Route("GET", "/registry/plugins", .role(.read), registry.list),
            Route("GET", "/registry/plugins/*name", .role(.read), registry.details),
            Route("GET", "/registry/search", .role(.read), registry.search),
            Route("POST", "/registry/refresh", .role(.admin), registry.refresh),

            Route("GET", "/registry/status", .role(.read), agentRegistry.status),
            Route("GET", "/registry/config", .role(.read), agentRegistry.config),
            Route("POST", "/registry/register", .role(.admin), body: .optionalObject(allowed: ["uri"]), agentRegistry.register),
            Route("POST", "/registry/update-uri", .role(.admin), body: .object(allowed: ["uri"]), agentRegistry.updateURI),
            Route("POST", "/registry/sync", .role(.admin), agentRegistry.sync),

            Route("GET", "/runtime", .role(.read), runtime.state),
            Route("POST", "/runtime/restart", .role(.admin), runtime.restart),
        ]
    }
}
