import Adapters
import SemVer

/// The whole tree a package brings, resolved by plugind from packuments before npm ever runs (the trust
/// boundary, docs/security.md): every version chosen the way npm chooses it, every spec a registry
/// version, range or dist-tag, nothing npm would take from inside a tarball.
public struct DependencyTree: Sendable {
    /// One chosen version, with the first chain of names that reached it (for error messages).
    public struct Package: Sendable {
        public let name: String
        public let version: String
        public let manifest: Packument.Version
        /// Publication time, for signature key expiry.
        public let publishedAt: String?
        /// `@a/plugin-x → b → c`: how the walk first reached it.
        public let path: [String]
        /// Reached only through optional dependencies: a platform mismatch or failure skips it, as npm does.
        public var optional: Bool
        public var key: String { Self.key(name, version) }
        static func key(_ name: String, _ version: String) -> String { name + "@" + version }
    }

    /// A dependency edge resolved to the version it gets.
    public struct Edge: Sendable {
        public let name: String
        public let spec: String
        public let kind: Packument.Dependency.Kind
        /// The key (`name@version`) of the chosen version.
        public let target: String
    }

    /// The key of the project the tree hangs from: "" (the install's staging project, or an ejected checkout).
    public let root: String = ""
    /// By key, in the order the walk found them (the project itself is not among them).
    public private(set) var packages: [String: Package] = [:]
    public private(set) var order: [String] = []
    /// By dependent key; `edges[""]` are the project's own.
    public private(set) var edges: [String: [Edge]] = [:]

    public var count: Int { order.count }

    /// Walks the tree of a project's dependencies breadth first. `pathPrefix` starts every dependency path (the
    /// ejected plugin's name; empty for an install, whose one dependency is the plugin). `known` primes the
    /// packument cache; `packument` fetches the others. Throws `.dependencyRefused` naming the path and spec of the
    /// first offence, and a refusal when the tree would pass `maxPackages`.
    public static func resolve(
        project: [Packument.Dependency], pathPrefix: [String] = [], known: [String: Packument] = [:], maxPackages: Int,
        platform: Platform = .current, packument: (String) throws(InstallError) -> Packument
    ) throws(InstallError) -> DependencyTree {
        struct Work {
            let key: String
            let label: String
            let dependencies: [Packument.Dependency]
            let path: [String]
            let optional: Bool
        }
        var tree = DependencyTree()
        var cache = known
        var work = [Work(key: "", label: pathPrefix.last ?? "the project", dependencies: project, path: pathPrefix, optional: false)]
        var next = 0
        while next < work.count {
            let dependent = work[next]
            next += 1
            var resolved: [Edge] = []
            for dependency in dependent.dependencies {
                let path = dependent.path + [dependency.name]
                guard PackageName.isValidForNewPackages(dependency.name) || PackageName.isLegacyName(dependency.name) else {
                    throw .dependencyRefused(
                        "\(dependent.label) depends on '\(String(dependency.name.prefix(100)))', which is not a valid npm package name; plugind does not install it.",
                        path: path, spec: dependency.spec)
                }
                let spec = try registrySpec(dependency, path: path)
                if dependency.kind == .peer && dependency.optionalPeer { continue }
                let optional = dependency.kind == .optional || dependent.optional
                let document: Packument
                do throws(InstallError) {
                    if let cached = cache[dependency.name] {
                        document = cached
                    } else {
                        document = try packument(dependency.name)
                        guard document.name == dependency.name else {
                            throw InstallError.refused("The npm registry answered for \(dependency.name) with the packument of \(String(document.name.prefix(100))).")
                        }
                        cache[dependency.name] = document
                    }
                } catch {
                    if optional, case .notFound = error { continue }
                    throw error.along(path)
                }
                let deprecated = Set(document.versions.values.filter(\.deprecated).map(\.version))
                guard let version = VersionPicker.pick(spec, versions: document.versionOrder, distTags: document.distTags, deprecated: deprecated),
                    let manifest = document.versions[version]
                else {
                    if optional { continue }
                    throw .dependencyRefused(
                        "No version of \(dependency.name) satisfies '\(String(dependency.spec.prefix(100)))', which \(dependent.label) requires.",
                        path: path, spec: dependency.spec)
                }
                if optional && !platform.accepts(os: manifest.os, cpu: manifest.cpu) { continue }
                let key = Package.key(dependency.name, version)
                if var known = tree.packages[key] {
                    if known.optional && !optional {
                        known.optional = false
                        tree.packages[key] = known
                    }
                } else {
                    try tree.admit(Package(name: dependency.name, version: version, manifest: manifest, publishedAt: document.time[version],
                                           path: path, optional: optional), maxPackages: maxPackages)
                    work.append(Work(key: key, label: "\(dependency.name)@\(version)", dependencies: manifest.dependencies, path: path, optional: optional))
                }
                resolved.append(Edge(name: dependency.name, spec: dependency.spec, kind: dependency.kind, target: key))
            }
            tree.edges[dependent.key] = resolved
        }
        tree.settleOptional()
        return tree
    }

    private init() {}

    private mutating func admit(_ package: Package, maxPackages: Int) throws(InstallError) {
        if package.manifest.hasShrinkwrap {
            throw .dependencyRefused(
                "\(package.name)@\(package.version) ships an npm-shrinkwrap.json, so npm would take its dependencies from inside the tarball; plugind does not install it.",
                path: package.path, spec: nil)
        }
        if package.manifest.bundlesDependencies {
            throw .dependencyRefused(
                "\(package.name)@\(package.version) bundles its dependencies inside its tarball, where plugind cannot verify them; plugind does not install it.",
                path: package.path, spec: nil)
        }
        guard order.count < maxPackages else {
            throw .refused("\(Self.path(package.path)) would bring more than \(maxPackages) packages; raise the setting maxTreePackages to install it.")
        }
        packages[package.key] = package
        order.append(package.key)
    }

    /// A package first reached through an optional edge may later turn out to be needed by a required one (or the
    /// other way round): required-ness flows along required edges from the root.
    private mutating func settleOptional() {
        var required: Set<String> = [root]
        var queue = [root]
        while let key = queue.popLast() {
            for edge in edges[key] ?? [] where edge.kind != .optional && !required.contains(edge.target) {
                required.insert(edge.target)
                queue.append(edge.target)
            }
        }
        for key in order { packages[key]!.optional = !required.contains(key) }
    }

    /// The registry spec a dependency names, or the refusal: git, URLs, files, links, workspaces and aliases never.
    static func registrySpec(_ dependency: Packument.Dependency, path: [String]) throws(InstallError) -> VersionSpec {
        let text = dependency.spec
        // npm-package-arg reads these as git, URL, file, link, workspace or alias specs, whatever else they look like.
        let foreign = text.contains(":") || text.contains("/") || text.contains("#") || text.contains("\\") || text.hasPrefix("~/")
            || text.hasPrefix(".") || text.lowercased().hasSuffix(".tgz") || text.lowercased().hasSuffix(".tar")
            || text.lowercased().hasSuffix(".tar.gz")
        if !foreign, let spec = try? VersionSpec(text) { return spec }
        // A git or tarball URL may carry credentials: they are masked like every other secret.
        let shown = SecretScrubber().scrub(String(text.prefix(200)))
        throw .dependencyRefused(
            "\(DependencyTree.path(path)) is required as '\(shown)', which is not a version from the npm registry; plugind installs only registry packages it has verified, so ask the plugin's author to depend on a published version.",
            path: path, spec: shown)
    }

    static func path(_ names: [String]) -> String { names.joined(separator: " → ") }
}

/// The platform npm filters optional dependencies by (`os`, `cpu`).
public struct Platform: Sendable {
    public let os: String
    public let cpu: String
    public static let current = Platform(os: "linux", cpu: Self.machine)
    #if arch(x86_64)
    static let machine = "x64"
    #elseif arch(arm64)
    static let machine = "arm64"
    #else
    static let machine = "unknown"
    #endif

    /// npm's rule: a list of allowed values, or of `!excluded` ones; empty accepts all.
    func accepts(os allowedOS: [String], cpu allowedCPU: [String]) -> Bool {
        Self.matches(os, allowedOS) && Self.matches(cpu, allowedCPU)
    }

    static func matches(_ value: String, _ list: [String]) -> Bool {
        if list.isEmpty || list == ["any"] { return true }
        if list.contains("!" + value) { return false }
        let positive = list.filter { !$0.hasPrefix("!") }
        return positive.isEmpty || positive.contains(value)
    }
}

extension InstallError {
    /// The same failure, with the dependency path it happened on when it has none yet.
    func along(_ path: [String]) -> InstallError {
        guard path.count > 1 else { return self }
        switch self {
        case .notFound:
            return .dependencyRefused(
                "The npm registry has no package named \(path.last!) (required by \(DependencyTree.path(path.dropLast()))).",
                path: path, spec: nil)
        default:
            return self
        }
    }
}
