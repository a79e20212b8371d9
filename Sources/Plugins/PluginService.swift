import Foundation
import JSON
import Locking
import Stores

/// The plugin list, one plugin, configuration changes and the core toggles (contract sections 2, 4, 5).
public struct PluginService: Sendable {
    /// What the plugin list is read from and written to besides the catalogue: the agent config, the runtime's view,
    /// the restart reasons, the secrets a change retired, and the scrubber for load errors.
    public struct Dependencies: Sendable {
        public var configFile: AgentConfigFile
        public var runtime: any RuntimeView
        public var restartReasons: RestartReasonStore
        public var retiredSecrets: RetiredSecretStore
        public var scrub: @Sendable (String) -> String
        /// plugind restarts the agent by itself after a change (a runtime is attached and `autoRestart` is on).
        public var restartsByItself: Bool

        public init(
            configFile: AgentConfigFile, runtime: any RuntimeView, restartReasons: RestartReasonStore, retiredSecrets: RetiredSecretStore,
            scrub: @escaping @Sendable (String) -> String, restartsByItself: Bool = false
        ) {
            self.restartsByItself = restartsByItself
            self.configFile = configFile
            self.runtime = runtime
            self.restartReasons = restartReasons
            self.retiredSecrets = retiredSecrets
            self.scrub = scrub
        }
    }

    let catalogue: CatalogueSource
    let paths: PluginPaths
    let core: CorePolicy
    let configFile: AgentConfigFile
    let runtime: any RuntimeView
    let restartReasons: RestartReasonStore
    let retiredSecrets: RetiredSecretStore
    let scrub: @Sendable (String) -> String
    let restartsByItself: Bool
    /// The last status lookup and the stamp it was made under: searches ask for it on every request.
    private let statusCache = Locked<CachedStatusLookup?>(nil)
    /// The boards of the last few stamps. Building one reads every installed and ejected package's manifest and
    /// merges them with the catalogue, so a board per request made every read cost grow with the plugins installed
    /// (`GET /api/plugins/:id` alone took four tenths of plugind's CPU in the mixed load).
    private let boardCache = StampedCache<PluginBoard>(limit: 4)
    /// The ejected copies' manifest paths, listed again only when the ejected directory changes.
    private let ejectedManifests = Locked<(root: FileStamp?, paths: [String])?>(nil)

    public typealias StatusLookup = @Sendable (String) -> (installedVersion: String??, loaded: Bool, bundled: Bool)

    public init(catalogue: CatalogueSource, paths: PluginPaths, core: CorePolicy, dependencies: Dependencies) {
        self.catalogue = catalogue
        self.paths = paths
        self.core = core
        self.configFile = dependencies.configFile
        self.runtime = dependencies.runtime
        self.restartReasons = dependencies.restartReasons
        self.retiredSecrets = dependencies.retiredSecrets
        self.scrub = dependencies.scrub
        self.restartsByItself = dependencies.restartsByItself
    }

    func board(config: JSONObject) throws -> PluginBoard {
        let inventory = PluginInventory(catalogue: try catalogue.current(), paths: paths, core: core)
        let snapshot = runtime.snapshot()
        if let started = snapshot?.startedAt, snapshot?.state == "running" { retiredSecrets.prune(runtimeStartedAt: started) }
        return PluginBoard(
            plugins: inventory.plugins(config: config), config: config, runtime: snapshot, core: core,
            retiredSecrets: retiredSecrets.all())
    }

    /// The board for a writer's `document`, read afresh under the agent config's lock: the board kept for the current
    /// stamp when it was made from this very document (the previous write prepared it), else a new one.
    func board(writing document: JSONObject) throws -> PluginBoard {
        if let kept = boardCache.kept(for: stamp()), kept.config == document { return kept }
        return try board(config: document)
    }

    /// The board as the agent config, the packages and the runtime stand now; built once per `stamp()`. The stamp
    /// is taken before anything is read, so a board is never older than the stamp it is kept under.
    func currentBoard() throws -> PluginBoard { try board(stamp: stamp()) }

    /// The board kept under `stamp` (taken by the caller before anything is read), built once.
    private func board(stamp: String) throws -> PluginBoard {
        try boardCache.value(for: stamp) { try board(config: try configFile.read()) }
    }

    // MARK: Reading

    /// `{"plugins": [...]}`, optionally only one category or one enabled state.
    public func list(category: String? = nil, enabled: Bool? = nil) throws -> PluginList {
        let board = try currentBoard()
        let filter = PluginFilter(category: category, enabled: enabled)
        let entries = board.plugins.filter { filter.keeps(category: $0.category, enabled: board.isEnabled($0)) }.map { board.entry($0, scrub: scrub) }
        return PluginList(plugins: entries)
    }

    public func get(_ id: String) throws -> PluginDetails {
        let board = try currentBoard()
        return PluginDetails(plugin: board.entry(try board.resolve(id), scrub: scrub))
    }

    /// Every plugin's entry with its key, in the list's order, as of `stamp` (taken by the caller before anything is
    /// read): what the list and each plugin's details are made of.
    public func keyedEntries(stamp: String) throws -> [(key: String, entry: PluginEntry)] {
        keyedEntries(try board(stamp: stamp))
    }

    private func keyedEntries(_ board: PluginBoard) -> [(key: String, entry: PluginEntry)] {
        board.plugins.map { ($0.key, board.entry($0, scrub: scrub)) }
    }

    /// What a writer of the agent config may build and keep for the answers of the new version before the file is
    /// replaced (`AgentConfigFile.Preparation`): told the stamp the list will have and given that version's entries.
    public typealias AnswerPreparation = (_ stamp: String, _ entries: () -> [(key: String, entry: PluginEntry)]) -> Void

    /// What `get(id)`'s answer depends on: the list's stamp and the key of the plugin `id` resolves to (404/409 as
    /// `get`).
    public func detailsKey(_ id: String) throws -> (stamp: String, key: String) {
        let stamp = stamp()
        return (stamp, try board(stamp: stamp).resolve(id).key)
    }

    /// A stamp that changes whenever anything the list depends on may have changed.
    public func stamp() -> String { stamp(config: configFile.modificationStamp() ?? "none") }

    /// The stamp with the agent config's own stamp given (a writer's, before the new file is in place).
    private func stamp(config: String) -> String {
        [
            catalogue.stamp(), config, Self.directoryStamp(paths.installRoot),
            Self.directoryStamp(paths.ejectedRoot), ejectedStamp(), Self.runtimeStamp(runtime.snapshot()),
        ].joined(separator: "|")
    }

    /// Builds and keeps the board of a document about to be written, under the stamp it will have, and what
    /// `prepared` makes from its entries, all before the rename: no reader of the new version waits for them.
    func preparation(_ prepared: AnswerPreparation?) -> AgentConfigFile.Preparation {
        { document, fileStamp in prepare(document, fileStamp: fileStamp, prepared) }
    }

    /// Has every later write of the agent config, by any service, build the board of the new version and what
    /// `prepared` makes of its entries before the file is replaced (`preparation(_:)`).
    public func prepareEveryConfigWrite(_ prepared: @escaping @Sendable (_ stamp: String, _ entries: () -> [(key: String, entry: PluginEntry)]) -> Void) {
        configFile.prepareEveryWrite { [self] document, fileStamp in prepare(document, fileStamp: fileStamp, prepared) }
    }

    private func prepare(_ document: JSONObject, fileStamp: FileStamp, _ prepared: AnswerPreparation?) {
        let stamp = stamp(config: fileStamp.description)
        guard let board = try? board(config: document) else { return }
        boardCache.insert(board, for: stamp)
        prepared?(stamp) { keyedEntries(board) }
    }

    /// The ejected copies' manifests: a sync or an edit changes a copy's package.json (its version, its
    /// parameters) without touching the ejected directory itself. Installed packages need no such line: an
    /// install or update puts a new directory in place, which the install directory's own stamp shows.
    func ejectedStamp() -> String {
        let root = FileStamp.current(paths.ejectedRoot)
        let paths: [String]
        if let hit = ejectedManifests.withLock({ $0 }), hit.root == root {
            paths = hit.paths
        } else {
            let directories = (try? FileManager.default.contentsOfDirectory(atPath: self.paths.ejectedRoot)) ?? []
            paths = directories.filter { !$0.hasPrefix(".") }.sorted().map { self.paths.ejectedRoot + "/" + $0 + "/package.json" }
            ejectedManifests.withLock { $0 = (root, paths) }
        }
        return paths.map { FileStamp.current($0)?.description ?? "none" }.joined(separator: ",")
    }

    /// Changes whenever what the runtime reports does (state, start, each plugin's load state and error).
    static func runtimeStamp(_ snapshot: RuntimeSnapshot?) -> String {
        guard let snapshot else { return "down" }
        var hasher = Hasher()
        hasher.combine(snapshot.state)
        hasher.combine(snapshot.startedAt)
        for plugin in snapshot.plugins {
            hasher.combine(plugin.package)
            hasher.combine(plugin.loaded)
            hasher.combine(plugin.error)
        }
        return String(hasher.finalize())
    }

    static func directoryStamp(_ path: String) -> String {
        FileStamp.current(path)?.description ?? "none"
    }

    // MARK: PUT /api/plugins/:id

    /// Applies `enabled` and `config` all at once or not at all.
    /// `prepared` builds answers of the new version before the file is replaced (`AnswerPreparation`); without it, the
    /// one `prepareEveryConfigWrite` gave does.
    public func update(_ idText: String, enabled: Bool?, config: JSONObject?, prepared: AnswerPreparation? = nil) throws -> PluginUpdateResult {
        struct Change {
            var key = ""
            var enabledChanged = false
            var changedKeys: [String] = []
            var retired: [String] = []
        }
        let change = try configFile.update({ document -> Change in
            let board = try self.board(writing: document)
            let plugin = try board.resolve(idText)
            var change = Change(key: plugin.key)
            var issues: [FieldIssue] = []
            var writes: [(String, String?)] = []
            for member in config ?? JSONObject() {
                let key = member.key
                if ParameterRules.isBlocked(key) {
                    issues.append(FieldIssue(field: key, message: "is blocked: it changes how the agent process itself runs"))
                    continue
                }
                if ParameterRules.isInjected(key) {
                    issues.append(FieldIssue(field: key, message: "is injected by the hosting infrastructure; it is not a setting"))
                    continue
                }
                guard let parameter = plugin.parameters.first(where: { $0.key == key }) else {
                    if let other = plugin.parameters.first(where: { $0.key.lowercased() == key.lowercased() }) {
                        issues.append(FieldIssue(field: key, message: "is declared as \(other.key); keys are case-sensitive"))
                    } else {
                        issues.append(FieldIssue(field: key, message: "is not a parameter of \(board.id(plugin))"))
                    }
                    continue
                }
                let stored = board.storedValue(key)
                // Sending back the mask GET showed keeps the secret.
                if case .string(let text) = member.value, let stored, board.isSensitive(key), text == ParameterRules.mask(stored) {
                    continue
                }
                let canonical: String?
                do {
                    canonical = try ParameterRules.canonical(member.value, as: parameter.type)
                } catch let refusal as ParameterRules.Refusal {
                    issues.append(FieldIssue(field: key, message: refusal.message))
                    continue
                }
                if let canonical, let options = parameter.options, !options.isEmpty, !options.contains(canonical) {
                    issues.append(FieldIssue(field: key, message: "must be one of: \(options.joined(separator: ", "))"))
                    continue
                }
                if canonical != stored { writes.append((key, canonical)) }
            }
            if !issues.isEmpty { throw PluginError.invalid(issues) }

            if let enabled {
                if core.isCore(plugin.key) {
                    if !enabled { throw PluginError.coreAlwaysEnabled(board.id(plugin)) }
                } else if board.isEnabled(plugin) != enabled {
                    AgentConfigEdits.setEnabled(plugin.key, enabled, optionalCore: core.isOptionalCore(plugin.key), in: &document)
                    change.enabledChanged = true
                }
            }
            if !writes.isEmpty {
                var env = document["env"]?.objectValue ?? JSONObject()
                for (key, value) in writes {
                    if board.isSensitive(key), let old = board.storedValue(key) { change.retired.append(old) }
                    env[key] = value.map(JSONValue.string)
                }
                document["env"] = .object(env)
                change.changedKeys = writes.map(\.0)
            }
            // Kept before the file changes: the runtime may go on quoting the old value until it restarts.
            for old in change.retired { retiredSecrets.add(old) }
            return change
        }, prepare: prepared.map { preparation($0) })

        let board = try currentBoard()
        guard let plugin = board.plugin(change.key) else { throw PluginError.notFound(idText) }
        var affected: Set<String> = change.enabledChanged ? [board.id(plugin)] : []
        var requiresRestart = change.enabledChanged
        for key in change.changedKeys {
            for declaring in board.declaredBy[key] ?? [] {
                guard let other = board.plugin(declaring) else { continue }
                affected.insert(board.id(other))
                if board.isEnabled(other) || board.isLoaded(other) { requiresRestart = true }
            }
        }
        if change.enabledChanged {
            try restartReasons.replace(
                "\(board.id(plugin)) was \(board.isEnabled(plugin) ? "disabled" : "enabled")",
                with: "\(board.id(plugin)) was \(board.isEnabled(plugin) ? "enabled" : "disabled")")
        } else if requiresRestart {
            try restartReasons.add("configuration of \(board.id(plugin)) changed")
        }
        return PluginUpdateResult(
            plugin: board.entry(plugin, scrub: scrub), requiresRestart: requiresRestart, affectedPlugins: affected.sorted(),
            warnings: Self.enabledButUnconfigured(board.id(plugin), enabled: board.isEnabled(plugin), errors: board.validation(plugin).errors),
            restarting: requiresRestart && restartsByItself)
    }

    /// Enabling a plugin that lacks settings is accepted (it can be configured afterwards, in any order), but said:
    /// one sentence for the required settings that are missing, one for those whose stored value is invalid.
    static func enabledButUnconfigured(_ id: String, enabled: Bool, errors: [FieldIssue]) -> [String] {
        guard enabled, !errors.isEmpty else { return [] }
        let missing = errors.filter { $0.message == "is required" }.map(\.field)
        let invalid = errors.filter { $0.message != "is required" }
        var warnings: [String] = []
        if !missing.isEmpty {
            let list = missing.count == 1 ? missing[0] : missing.dropLast().joined(separator: ", ") + " and " + missing[missing.count - 1]
            warnings.append("\(id) is enabled but will not work until you set \(list): \(missing.count == 1 ? "it is" : "they are") required.")
        }
        if !invalid.isEmpty {
            let list = invalid.map { "\($0.field) \($0.message)" }.joined(separator: "; ")
            warnings.append("\(id) is enabled but will not work until you fix its settings: \(list).")
        }
        return warnings
    }

    // MARK: Core plugins (section 4)

    public func coreStatus() -> CoreStatus {
        CoreStatus(corePlugins: core.core.map(PluginIdentity.shortId), optionalCorePlugins: core.optional.map(PluginIdentity.shortId))
    }

    public func coreList() throws -> CoreList {
        let board = try currentBoard()
        func loaded(_ npm: String) -> Bool { board.runtime?.plugin(npm)?.loaded ?? false }
        return CoreList(
            core: core.core.map { npm in CoreList.Core(name: PluginIdentity.shortId(npm), npmName: npm, loaded: loaded(npm)) },
            optionalCore: core.optional.map { npm in
                CoreList.OptionalCore(name: PluginIdentity.shortId(npm), npmName: npm, loaded: loaded(npm), enabled: board.isAllowed(npm))
            })
    }

    /// Turns an optional-core plugin on or off (`plugins.allow`); core plugins cannot be toggled.
    public func coreToggle(name: String, enabled: Bool) throws -> CoreToggleResult {
        let all = core.core + core.optional
        let npm = all.first { $0 == name || PluginIdentity.shortId($0) == name || $0 == "@elizaos/" + name }
        guard let npm else { throw PluginError.notFound(name) }
        if core.isCore(npm) {
            throw PluginError.badRequest("\(PluginIdentity.shortId(npm)) is a core plugin: it is always loaded and cannot be toggled.")
        }
        let changed = try configFile.update { document -> Bool in
            let board = try self.board(writing: document)
            guard board.isAllowed(npm) != enabled else { return false }
            AgentConfigEdits.setEnabled(npm, enabled, optionalCore: true, in: &document)
            return true
        }
        let id = PluginIdentity.shortId(npm)
        if changed {
            try restartReasons.replace("\(id) was \(enabled ? "disabled" : "enabled")", with: "\(id) was \(enabled ? "enabled" : "disabled")")
        }
        let state = enabled ? "enabled" : "disabled"
        let message = !changed ? "\(id) was already \(state)."
            : restartsByItself ? "\(id) \(state); the agent restarts to apply it." : "\(id) \(state); restart the agent to apply it."
        return CoreToggleResult(requiresRestart: changed, restarting: changed && restartsByItself, message: message)
    }

    /// The npm name and id a path's `:id` resolves to (404/409 as for every plugin route).
    public func resolve(_ idText: String) throws -> (npmName: String, id: String) {
        let board = try currentBoard()
        let plugin = try board.resolve(idText)
        return (plugin.key, board.id(plugin))
    }

    // MARK: What other listings need to know

    /// Per npm name: the install record's version, whether the runtime loaded it, whether the
    /// bundled catalogue has it — read once, answered many times.
    public func statusLookup() -> StatusLookup {
        // What the lookup reads: the install records (agent config), the catalogue and the runtime.
        let stamp = StatusStamp(
            catalogue: catalogue.path.flatMap(FileStamp.current), config: FileStamp.current(configFile.path),
            runtime: Self.runtimeStamp(runtime.snapshot()))
        if let hit = statusCache.withLock({ $0 }), hit.stamp == stamp { return hit.lookup }
        let lookup = makeStatusLookup()
        statusCache.withLock { $0 = CachedStatusLookup(stamp: stamp, lookup: lookup) }
        return lookup
    }

    private func makeStatusLookup() -> StatusLookup {
        // Parsed once per version of the file: after a config write every search asks for a new lookup at once.
        let document = (try? configFile.current()) ?? JSONObject()
        let installs = document["plugins"]?["installs"]?.objectValue ?? JSONObject()
        var versions: [String: String?] = [:]
        for record in installs { versions[record.key] = .some(record.value["version"]?.stringValue) }
        let bundled = Set(((try? catalogue.current())?.plugins ?? []).compactMap(\.npmName))
        let snapshot = runtime.snapshot()
        let frozenVersions = versions
        return { name in
            (frozenVersions[name], snapshot?.plugin(name)?.loaded ?? false, bundled.contains(name))
        }
    }

    /// Every installed or enabled plugin with its version and states, for the agent registry's heartbeat.
    public func heartbeatPlugins() -> [(name: String, version: String?, installed: Bool, enabled: Bool, loaded: Bool)] {
        guard let board = try? currentBoard() else { return [] }
        return board.plugins.compactMap { plugin in
            let installed = plugin.source == .installed || plugin.source == .ejected
            let enabled = board.isEnabled(plugin)
            guard installed || enabled, let npm = plugin.npmName else { return nil }
            return (npm, plugin.version, installed, enabled, board.isLoaded(plugin))
        }
    }

    // MARK: POST /api/plugins/:id/test

    /// Runs the plugin's own check in the runtime. Order: unknown 404, no runtime 503, not loaded 409, timeout 504.
    public func test(_ idText: String) throws -> PluginTestResult {
        let board = try currentBoard()
        let plugin = try board.resolve(idText)
        guard runtime.attached else { throw RuntimeError.notAttached }
        guard let snapshot = board.runtime else { throw RuntimeError.unreachable("no status answer") }
        guard let npm = plugin.npmName, snapshot.plugin(npm)?.loaded == true else { throw board.whyNotLoaded(plugin, scrub: scrub) }
        let result = try runtime.check(package: npm)
        // Secrets are scrubbed from the details' text; what no longer reads as JSON afterwards is shown as null.
        let details = result.details.map { extra in
            (try? JSONParser.parse(board.scrubStoredSecrets(scrub(JSONWriter.compact(extra))))) ?? .null
        }
        return PluginTestResult(
            ok: result.ok,
            result: .init(message: board.scrubStoredSecrets(scrub(result.message)), durationMs: result.durationMs, details: details),
            pluginId: board.id(plugin))
    }
}

/// A status lookup and the stamp it was made under. A nominal type on purpose: a closure kept in a
/// tuple inside a generic container is re-wrapped in a conversion thunk on every inout access, and
/// the wrappers pile up.
private struct CachedStatusLookup {
    let stamp: StatusStamp
    let lookup: PluginService.StatusLookup
}

/// What a status lookup depends on, compared without formatting it into a string.
private struct StatusStamp: Equatable {
    let catalogue: FileStamp?
    let config: FileStamp?
    let runtime: String
}
