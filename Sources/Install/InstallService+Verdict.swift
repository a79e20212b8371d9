import Failures
import Foundation
import JSON
import Operations
import Plugins
import Runner
import Stores

/// How long a change waits for the runtime's verdict, and how many previous versions are kept.
public struct VersionPolicy: Sendable {
    public let verdictTimeoutMs: Int
    /// Most packages with a previous version kept (the oldest kept go first); 0 keeps none.
    public let keptVersions: Int
    /// npm's cache is emptied (in the background, after an install) once it is larger than this.
    public let npmCacheMaxBytes: Int64

    public init(verdictTimeoutMs: Int = 60_000, keptVersions: Int = 20, npmCacheMaxBytes: Int64 = 2 << 30) {
        self.verdictTimeoutMs = verdictTimeoutMs
        self.keptVersions = keptVersions
        self.npmCacheMaxBytes = npmCacheMaxBytes
    }
}

/// What an install changed, for the verdict that follows: the version now in place, when its restart reasons were in,
/// and the version it replaced with what the runtime last said about that one.
struct Change {
    let version: String
    let changedAt: String
    let previousVersion: String?
    let previousLoaded: Bool?
    let rollbackOnFailure: Bool
    /// The request said `force` (kept in the checkpoint, so a recovered install answers it too).
    var forced = false
}

/// An upgrade whose new version did not load, put back to the version before (or a rollback that found nothing to do).
public struct RolledBack: UserFacingError, ResultCarryingError {
    public let description: String
    let result: FailedInstallResult
    public var kind: FailureKind { .unprocessable }
    public var details: JSONObject {
        ["loaded": .bool(false), "loadError": result.loadError.map(JSONValue.string) ?? .null,
         "rolledBackTo": result.rolledBackTo.map(JSONValue.string) ?? .null]
    }
    public var operationResult: [UInt8]? { try? JSONEncoding.bytes(result) }
}

extension InstallService {
    /// Whether `version` of `name` loaded the last time the runtime judged it: the recorded verdict, else the runtime's
    /// word now (asked once), when nothing is pending. nil: unknown.
    func knownLoaded(_ name: String, version: String) -> Bool? {
        if let last = try? versions.verdict(name), last.version == version { return last.loaded }
        return verdicts.current(package: name)?.loaded
    }

    /// Whether the agent config enables `name` now (only an enabled plugin gets a verdict).
    func isEnabledNow(_ name: String) -> Bool {
        guard let document = try? configFile.read() else { return false }
        return core.isCore(name) || AgentConfigEdits.isEnabled(name, optionalCore: core.isOptionalCore(name), in: document)
    }

    /// Waits for the runtime's verdict on what `change` put in place, when there is a runtime that restarts by itself
    /// and the plugin is enabled; an upgrade that does not load, where the version before did, is rolled back.
    func judge(_ result: inout InstallResult, change: Change?, ctx: OperationContext) throws {
        guard verdicts.waits, let change, isEnabledNow(result.plugin.name) else { return }
        let name = result.plugin.name
        ctx.phase("verifying load", progress: 0.95)
        ctx.log("waiting for the agent to restart and load \(name) \(change.version)")
        let verdict = verdictWait.verdict(package: name, changedAt: change.changedAt, timeLeftMs: ctx.stepTimeoutMs(.max))
        try? versions.recordVerdict(name: name, version: change.version, loaded: verdict.loaded, error: verdict.error)
        result.loaded = verdict.loaded
        result.loadError = verdict.error.map(scrubber.scrub)
        guard !verdict.loaded else {
            ctx.log("\(name) \(change.version) loaded")
            return
        }
        let why = "\(name) \(change.version) failed to load: \(result.loadError ?? "no reason given")"
        ctx.log(why)
        guard let previousVersion = change.previousVersion, previousVersion != change.version else {
            result.warnings.append("\(name) \(change.version) was installed but did not load: \(result.loadError ?? "no reason given")")
            return
        }
        guard change.rollbackOnFailure else {
            result.warnings.append("\(why); it stays installed because rollbackOnFailure is false.")
            return
        }
        guard change.previousLoaded == true, let kept = try? versions.kept(name), kept.version == previousVersion, keptTreeExists(kept) else {
            result.warnings.append("\(why); whether \(previousVersion) loaded before is not known, so it was not rolled back.")
            return
        }
        ctx.phase("rolling back", progress: 0.97)
        ctx.log("rolling back to \(previousVersion)")
        let changedAt = try restore(kept, replacing: nil, loadError: why, ctx: ctx)
        let again = verdictWait.verdict(package: name, changedAt: changedAt, timeLeftMs: ctx.stepTimeoutMs(.max))
        try? versions.recordVerdict(name: name, version: previousVersion, loaded: again.loaded, error: again.error)
        var message = "rolled back to \(previousVersion): \(why)"
        var warnings = result.warnings
        if !again.loaded {
            let second = "\(previousVersion) did not load again either: \(again.error.map(scrubber.scrub) ?? "no reason given")"
            message += "; " + second
            warnings.append(second)
        }
        ctx.log(message)
        throw RolledBack(
            description: message,
            result: FailedInstallResult(
                plugin: .init(name: name, version: previousVersion, installPath: kept.installPath), loaded: false, loadError: result.loadError,
                rolledBackTo: previousVersion, warnings: warnings))
    }

    /// The runtime's verdicts, bounded by `verdictTimeoutMs` and the operation's deadline (as sync waits).
    var verdictWait: VerdictWait { VerdictWait(source: verdicts, timeoutMs: policy.verdictTimeoutMs, core: core) }

    /// Where a package's previous version is kept: the install directory's name under plugins/.previous.
    func keptPath(_ installPath: String) -> String {
        layout.keptRoot + "/" + (installPath as NSString).lastPathComponent
    }

    func keptTreeExists(_ kept: PluginVersionStore.Kept) -> Bool {
        ((try? installer.list(layout.keptRoot)) ?? []).contains((kept.installPath as NSString).lastPathComponent)
    }

    /// Keeps the tree an upgrade replaced (set aside at `aside`) as the package's one previous version, replacing any
    /// older one: the row goes before the old tree, the new row after the new tree, so a crash leaves at worst a tree
    /// without a row, which the next start clears.
    func keep(_ kept: PluginVersionStore.Kept, from aside: String) {
        guard policy.keptVersions > 0 else {
            try? installer.remove(aside)
            return
        }
        let target = keptPath(kept.installPath)
        try? versions.forgetKept(kept.name)
        try? installer.remove(target)
        do {
            try installer.move(aside, to: target)
            try versions.keep(kept)
        } catch {
            try? installer.remove(aside)
            logger.warning("the previous version could not be kept", metadata: ["name": "\(kept.name)", "error": "\(error)"])
        }
    }
}
