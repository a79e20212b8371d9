import Adapters
import App
import API
import ArgumentParser
import CoreMetrics
import Eject
import FastCGI
import Foundation
import HTTPKit
import Install
import Logging
import Manifest
import Operations
import Runner
import Settings
import Stores

@main
struct Plugind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugind",
        abstract: "The plugin manager of an agent: a FastCGI responder for nginx.",
        version: PlugindVersion.current,
        subcommands: [Serve.self, CheckConfig.self, Token.self, RunnerCommand.self, Doctor.self, ManifestCommand.self],
        defaultSubcommand: Serve.self)
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer /api requests on the FastCGI socket until SIGTERM.")

    @OptionGroup var options: ServeOptions

    func run() throws {
        FastCGIServer.holdStopSignals()
        MemoryReturn.apply()
        let settings = try options.load()
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, logLevel: level) }
        let logger = Logger(label: "plugind")
        let wiring = try Wiring(settings: settings, logger: logger)
        // Before anything writes the agent config (an operation's recovery may): entries are judged against the file as
        // the stop left it.
        try wiring.audit.recoverInterrupted()
        let recovered = try wiring.operations.recoverInterrupted(using: ["install": InstallRecovery(service: wiring.install), "uninstall": InstallRecovery(service: wiring.install),
            "rollback": InstallRecovery(service: wiring.install),
            "sync": EjectRecovery(service: wiring.eject), ManifestService.operationKind: ManifestRecovery(service: wiring.manifest)],
            endGroups: { groups in
                do {
                    try wiring.installer.endGroups(groups)
                    return true
                } catch {
                    logger.error("cannot end an interrupted operation's programs", metadata: ["error": "\(error)"])
                    return false
                }
            })
        let stillRunning = Set(try wiring.operations.store.list(state: .running).map(\.id))
        wiring.install.clearLeftovers(running: stillRunning)
        wiring.agentConfig.removeAbandonedTempFiles()
        if !recovered.isEmpty { logger.warning("settled \(recovered.count) operation(s) interrupted by a stop") }
        wiring.scheduler?.start()
        // The stored registry is read and parsed on a thread of its own: a socket-activated start owes the waiting
        // request its answer first (about 10 ms with the real snapshot). A registry answer asked for meanwhile
        // waits for that one load rather than starting another.
        let registry = wiring.registry
        Thread.detachNewThread { registry.warmUp() }
        wiring.audit.startPruning()
        wiring.agentRegistry.start()

        var serverOptions = FastCGIServer.Options()
        serverOptions.threads = settings.threads
        serverOptions.maxBodyBytes = settings.maxBodyBytes
        serverOptions.drainTimeout = .milliseconds(settings.timeouts.shutdownMs)
        let source = ListenSource.detect(configuredPath: settings.socket, mode: settings.socketMode, group: settings.socketGroup)
        let gatekeeper = wiring.gatekeeper
        let server: FastCGIServer
        do {
            server = try FastCGIServer(source: source, options: serverOptions, logger: logger) { request in
                gatekeeper.respond(to: request)
            }
        } catch let error as ListenError {
            throw CLIError("Cannot listen: \(error.description)")
        }
        // The transport knows nothing of metrics: its numbers become gauges here.
        let busyWorkers = Gauge(label: "plugind_fastcgi_workers_busy", factory: wiring.metrics.factory)
        let workers = Gauge(label: "plugind_fastcgi_workers", factory: wiring.metrics.factory)
        wiring.metrics.addCollector {
            busyWorkers.record(Double(server.busyWorkers))
            workers.record(Double(server.workers))
        }
        logger.info("plugind \(PlugindVersion.current) serving", metadata: ["stateDir": "\(settings.stateDir)"])
        server.run()
        wiring.agentRegistry.stop()
        wiring.scheduler?.stop()
        logger.info("stopped")
        LogSink.standardError.flush()
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate the settings and exit non-zero on a bad value.")

    @OptionGroup var options: SettingsOptions

    func run() throws {
        let settings = try options.load()
        let file = PlugindSettings.file(flag: options.state.settings, environment: ProcessInfo.processInfo.environment)
        print("settings are valid (\(file.map { "settings file \($0)" } ?? "no settings file"); state directory \(settings.stateDirWithSource))")
    }
}

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every owner and mode of the state directory (--fix repairs them; run as root, e.g. by the units).")

    @OptionGroup var options: SettingsOptions
    @Flag(help: "Repair what is wrong (and move a single-user state directory to the three identities' layout).")
    var fix = false
    @Option(help: "plugind's own user.") var user = "plugind"
    @Option(name: .customLong("installer-user"), help: "The user plugind runner runs as, which owns plugins/; \"\" when there is none.")
    var installerUser = "plugind-install"

    func run() throws {
        let settings = try options.load()
        announce(settings)
        // getpwnam answers in a buffer the next call reuses: each answer is copied at once.
        guard let entry = getpwnam(user) else { throw CLIError("There is no user '\(user)'; create it, or name plugind's user with --user.") }
        let owner = (uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        var installer: (uid: uid_t, gid: gid_t)?
        if !installerUser.isEmpty {
            guard let entry = getpwnam(installerUser) else {
                throw CLIError("There is no user '\(installerUser)'; create it, or pass --installer-user \"\" when npm runs as plugind.")
            }
            installer = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
        let group = try settings.agentConfigGroupID()
        let audit = StateAudit(
            stateDir: settings.stateDir, agentConfigPath: settings.agentConfigPath, owner: owner,
            installer: installer, agentConfigGroup: group)
        let findings = audit.run(fix: fix)
        for finding in findings { print(finding.description) }
        if findings.isEmpty {
            print("\(settings.stateDir): every owner and mode is as it should be")
        } else if findings.contains(where: { !$0.fixed }) {
            throw ExitCode(1)
        }
    }
}
