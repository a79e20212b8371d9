// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "plugind",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plugind", targets: ["plugind"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Layer 1: C modules over Debian's libraries (shim headers only).
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // A pthread-mutex-protected value for the per-request paths.
        .target(name: "Locking"),
        // Order-preserving JSON: request bodies and the agent config file.
        .target(name: "JSON"),
        // What went wrong, in words a client sees: each service's errors say their kind; HTTPKit maps kinds to statuses.
        .target(name: "Failures", dependencies: ["JSON"]),
        // Layer 3: HTTP vocabulary, routing, gates. Knows nothing of plugins or FastCGI.
        .target(name: "HTTPKit", dependencies: [
            "JSON", "Failures", "Locking", .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Metrics", package: "swift-metrics"), .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Logging", package: "swift-log"),
        ]),
        // Layer 2: the FastCGI transport. Knows nothing of plugins.
        .target(name: "FastCGI", dependencies: ["CFastCGI", "HTTPKit", "JSON", .product(name: "Logging", package: "swift-log")]),
        // Layer 6: stores (SQLite, agent config, tokens) and adapters.
        .target(name: "Stores", dependencies: [
            "JSON", "Locking", "Failures",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The outside world behind plugind's own types: HTTP, child processes, npm and git, the npm registry, the clock.
        .target(name: "Adapters", dependencies: ["CCurl", "JSON", "SemVer", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Settings", dependencies: ["JSON", "Adapters", "SemVer"]),
        // npm's version and range semantics, and its package-name rules.
        .target(name: "SemVer"),
        // Plugin ids, config keys and install directory names, and which plugins are core: the words
        // Plugins and Registry share, with no dependencies of their own.
        .target(name: "Vocabulary"),
        // gzip + tar inspection of npm tarballs before npm sees them.
        .target(name: "Tarball", dependencies: ["CZlib"]),
        // Layer 5: services.
        .target(name: "Operations", dependencies: ["Stores", "JSON", "Failures", "Locking", .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Metrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log")]),
        .target(name: "Plugins", dependencies: ["Vocabulary", "Stores", "JSON", "Locking", "Failures"]),
        .target(name: "Registry", dependencies: [
            "JSON", "Locking", "Stores", "Adapters", "SemVer", "Vocabulary", "Failures", .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
        ]),
        // The trust boundary: every npm and git run, every plugin tree created, moved or removed, by the installer
        // identity (`plugind runner`, or this process when none is configured), and what it verifies first.
        .target(name: "Runner", dependencies: [
            "Adapters", "Failures", "JSON", "Operations", "SemVer", "Stores", "Tarball", "Vocabulary",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Install", dependencies: [
            "Adapters", "Failures", "JSON", "Locking", "Operations", "Plugins", "Runner", "SemVer", "Stores", "Tarball",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Eject", dependencies: [
            "Adapters", "Failures", "JSON", "Operations", "Plugins", "Runner", "Stores", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "AgentRegistry", dependencies: [
            "JSON", "Locking", "Stores", "Adapters", "Failures", .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
        ]),
        // The agent's plugin set as a manifest: export, plan, and an all-or-nothing apply over Install and Plugins.
        .target(name: "Manifest", dependencies: ["Adapters", "Eject", "Failures", "Install", "JSON", "Operations", "Plugins", "Runner", "SemVer", "Stores"]),
        .target(name: "Runtime", dependencies: ["Adapters", "Plugins", "Stores", "JSON", "Locking", .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log")]),
        // The audit trail: one entry per changing request, kept consistent with the agent config through a crash.
        .target(name: "Audit", dependencies: [
            "Failures", "JSON", "Locking", "Operations", "Stores", "Vocabulary", .product(name: "Logging", package: "swift-log"),
        ]),
        // Layer 4: the route table and its thin handlers.
        .target(name: "API", dependencies: ["Audit", "HTTPKit", "JSON", "Locking", "Stores", "Settings", "Operations", "Plugins", "Runtime", "Registry", "Runner", "Install", "Eject", "AgentRegistry", "Adapters", "Manifest"]),
        // Layer 7: the composition root (imported only by the executable and the in-process API tests) and the executable.
        .target(name: "App", dependencies: [
            "API", "Audit", "HTTPKit", "Stores", "Settings", "Operations", "Plugins", "Runtime", "Registry", "Runner", "Install", "Eject", "AgentRegistry",
            "Adapters", "JSON", "Locking", "SemVer", "Manifest", .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "plugind", dependencies: [
            "App", "API", "FastCGI", "HTTPKit", "Stores", "Settings", "Operations", "Plugins", "Runtime", "Registry", "Runner", "Install", "Eject", "AgentRegistry",
            "Adapters", "Manifest",
            "Locking", "JSON",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A second process for the agent-config cross-process test.
        .executableTarget(name: "config-writer-probe", dependencies: ["Stores", "JSON"], path: "Tests/Support/ConfigWriterProbe"),

        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "HTTPKitTests", dependencies: ["HTTPKit", "JSON", "Failures", .product(name: "Prometheus", package: "swift-prometheus")]),
        .testTarget(name: "StoresTests", dependencies: ["Stores", "JSON", "config-writer-probe"]),
        // Loopback fakes shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Adapters", "JSON"], path: "Tests/TestSupport"),
        .testTarget(name: "AdaptersTests", dependencies: ["Adapters", "JSON", "TestSupport"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Operations", "Stores", "JSON", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "OperationsTests", dependencies: ["Operations", "Stores", .product(name: "Prometheus", package: "swift-prometheus")]),
        .testTarget(name: "VocabularyTests", dependencies: ["Vocabulary"]),
        .testTarget(name: "PluginsTests", dependencies: ["Plugins", "Stores", "JSON"]),
        .testTarget(name: "RegistryTests", dependencies: [
            "Registry", "Stores", "Adapters", "JSON", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "TarballTests", dependencies: ["Tarball", "CZlib"]),
        .testTarget(name: "SemVerTests", dependencies: ["SemVer", "TestSupport"]),
        .testTarget(name: "AgentRegistryTests", dependencies: [
            "AgentRegistry", "Stores", "Adapters", "JSON", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        // plugind built by its composition root over a temporary state directory, every outside service a loopback fake.
        .target(name: "TestWorld", dependencies: [
            "App", "HTTPKit", "JSON", "Settings", "Stores", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestWorld"),
        .testTarget(name: "APITests", dependencies: ["API", "App", "HTTPKit", "JSON", "Locking", "Operations", "TestWorld", .product(name: "Prometheus", package: "swift-prometheus")]),
        .testTarget(name: "EjectTests", dependencies: ["Eject", "JSON", "Operations", "Stores", "TestWorld"]),
        .testTarget(name: "InstallTests", dependencies: [
            "Adapters", "Install", "Runner", "SemVer", "JSON", "Operations", "Stores", "TestSupport", "TestWorld", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "Install", "JSON", "Operations", "Stores", "TestWorld"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Plugins", "Stores", "JSON", "Adapters", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
