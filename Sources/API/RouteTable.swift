import HTTPKit

/// Every /api route: method, path, who may call it, what body it takes, and the handler.
/// Reading this file is how to learn the API; handlers live beside their service's routes.
public enum RouteTable {
    public static func routes(_ deps: Dependencies) -> [Route] {
        let system = SystemRoutes(deps: deps)
        let plugins = PluginRoutes(service: deps.plugins, cache: ResponseCache())
        // Every write of the agent config, whichever route makes it, has the plugin list of the new version ready.
        deps.plugins.prepareEveryConfigWrite { stamp, entries in plugins.preparedAnswers(stamp: stamp, entries: entries) }
        let runtime = RuntimeRoutes(service: deps.runtime)
        let install = InstallRoutes(
            service: deps.install, plugins: deps.plugins, early: EarlyAnswer(within: .milliseconds(deps.settings.clientAnswerWithinMs)))
        let eject = EjectRoutes(service: deps.eject, plugins: deps.plugins)
        let agentRegistry = AgentRegistryRoutes(service: deps.agentRegistry)
        let audit = AuditRoutes(store: deps.auditStore, plugins: deps.plugins)
        let manifest = ManifestRoutes(deps)
        let registry = RegistryRoutes(registry: deps.registry, plugins: deps.plugins, operations: deps.operations, cache: ResponseCache(maxKeptBody: RegistryRoutes.maxKeptList))
        return [
            Route(.get, "/health", .open, system.health),
            Route(.get, "/sign-in", .open, system.signIn),
            Route(.get, "/session", .role(.read), system.session),
            Route(.get, "/settings", .role(.read), system.settings),
            // Prometheus' text format, not JSON (docs/deployment.md, section 13).
            Route(.get, "/metrics", .role(.read), system.metrics),
            Route(.get, "/operations", .role(.read), system.listOperations),
            Route(.get, "/operations/:id", .role(.read), system.operation),
            Route(.get, "/audit", .role(.admin), audit.list),

            Route(.get, "/plugins", .role(.read), plugins.list),
            Route(.get, "/plugins/installed", .role(.read), install.installed),
            // `autoRestart` here and `name`, `endpoint`, `tokenURI` on the agent registry routes are what Milady's app
            // sends (docs/milady-compatibility.md); any other unknown field is still refused.
            Route(.post, "/plugins/install", .role(.admin), body: .object(allowed: ["name", "version", "enable", "force", "rollbackOnFailure", "autoRestart"]), install.install),
            Route(.post, "/plugins/uninstall", .role(.admin), body: .object(allowed: ["name", "purgeConfig", "autoRestart"]), install.uninstall),

            Route(.get, "/plugins/ejected", .role(.read), eject.ejected),
            Route(.post, "/plugins/:id/eject", .role(.admin), eject.eject),
            Route(.post, "/plugins/:id/sync", .role(.admin), body: .optionalObject(allowed: ["pull"]), eject.sync),
            Route(.post, "/plugins/:id/rollback", .role(.admin), install.rollback),
            Route(.post, "/plugins/:id/reinject", .role(.admin), body: .optionalObject(allowed: ["force"]), eject.reinject),

            Route(.get, "/plugins/:id", .role(.read), plugins.get),
            Route(.put, "/plugins/:id", .role(.admin), body: .object(allowed: ["enabled", "config"]), plugins.update),
            Route(.post, "/plugins/:id/test", .role(.admin), plugins.test),

            Route(.get, "/core/status", .role(.read), plugins.coreStatus),
            Route(.get, "/plugins/core", .role(.read), plugins.coreList),
            Route(.post, "/plugins/core/toggle", .role(.admin), body: .object(allowed: ["name", "npmName", "enabled"]), plugins.coreToggle),

            Route(.get, "/registry/plugins", .role(.read), registry.list),
            Route(.get, "/registry/plugins/*name", .role(.read), registry.details),
            Route(.get, "/registry/search", .role(.read), registry.search),
            Route(.post, "/registry/refresh", .role(.admin), registry.refresh),

            Route(.get, "/registry/status", .role(.read), agentRegistry.status),
            Route(.get, "/registry/config", .role(.read), agentRegistry.config),
            Route(.post, "/registry/register", .role(.admin), body: .optionalObject(allowed: ["uri", "tokenURI", "name", "endpoint"]), agentRegistry.register),
            Route(.post, "/registry/update-uri", .role(.admin), body: .object(allowed: ["uri", "tokenURI"]), agentRegistry.updateURI),
            Route(.post, "/registry/sync", .role(.admin), body: .optionalObject(allowed: ["tokenURI", "name", "endpoint"]), agentRegistry.sync),

            Route(.get, "/manifest", .role(.read), manifest.export),
            Route(.post, "/manifest/plan", .role(.admin), body: .object(allowed: ManifestRoutes.fields), manifest.plan),
            Route(.post, "/manifest/apply", .role(.admin), body: .object(allowed: ManifestRoutes.fields), manifest.apply),

            Route(.get, "/runtime", .role(.read), runtime.state),
            Route(.post, "/runtime/restart", .role(.admin), runtime.restart),
        ]
    }
}
