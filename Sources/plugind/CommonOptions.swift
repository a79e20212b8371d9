import ArgumentParser
import Foundation
import Settings

/// Options every subcommand shares: where the settings come from.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Settings file (JSON). Also PLUGIND_SETTINGS.")
    var settings: String?

    @Option(name: .long, help: "State directory (overrides the settings file and PLUGIND_STATE_DIR).")
    var stateDir: String?

    @Option(name: .long, help: "Unix socket path to create when no socket is inherited.")
    var socket: String?

    @Option(name: .long, help: "Worker threads.")
    var threads: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("Any setting, as key=value (repeatable); e.g. --set timeouts.npmMs=60000.", valueName: "key=value"))
    var assignments: [String] = []

    func load() throws -> PlugindSettings {
        let environment = ProcessInfo.processInfo.environment
        var overrides: [(key: String, value: String)] = []
        if let stateDir { overrides.append(("stateDir", stateDir)) }
        if let socket { overrides.append(("socket", socket)) }
        if let threads { overrides.append(("threads", String(threads))) }
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "=") else {
                throw ValidationError("--set takes key=value, not '\(assignment)'.")
            }
            overrides.append((String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...])))
        }
        do {
            return try PlugindSettings(file: settings ?? environment["PLUGIND_SETTINGS"], environment: environment, overrides: overrides)
        } catch let error as SettingsError {
            throw ValidationError("Bad settings: \(error.description)")
        }
    }
}
