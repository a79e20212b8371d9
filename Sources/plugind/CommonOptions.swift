import ArgumentParser
import Foundation
import Settings

/// A failure the user can act on: printed as one line ("Error: …"), never followed by the usage, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the state directory is: what `token` needs, and the start of every command's settings.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: "Settings file (JSON). Default: PLUGIND_SETTINGS, else /etc/plugind/settings.json if it exists.")
    var settings: String?

    @Option(name: .long, help: "State directory (overrides the settings file and PLUGIND_STATE_DIR).")
    var stateDir: String?

    func load(overrides: [(key: String, value: String)] = [], flags: [String: String] = [:]) throws -> PlugindSettings {
        let environment = ProcessInfo.processInfo.environment
        var overrides = overrides
        var flags = flags
        if let stateDir {
            overrides.insert(("stateDir", stateDir), at: 0)
            flags["stateDir"] = "--state-dir"
        }
        do {
            return try PlugindSettings(
                file: PlugindSettings.file(flag: settings, environment: environment), environment: environment, overrides: overrides, flags: flags)
        } catch let error as SettingsError {
            throw CLIError(error.description)
        }
    }
}

/// Settings for commands that read them all: the state directory's options and `--set key=value`.
struct SettingsOptions: ParsableArguments {
    @OptionGroup var state: StateOptions

    @Option(name: .customLong("set"), help: ArgumentHelp("Any setting, as key=value (repeatable); e.g. --set timeouts.npmMs=60000.", valueName: "key=value"))
    var assignments: [String] = []

    func load(overrides: [(key: String, value: String)] = [], flags: [String: String] = [:]) throws -> PlugindSettings {
        var overrides = overrides
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "=") else {
                throw CLIError("--set takes key=value, not '\(assignment.prefix(100))'.")
            }
            overrides.append((String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...])))
        }
        return try state.load(overrides: overrides, flags: flags)
    }
}

/// `serve`'s own: where it listens and with how many threads.
struct ServeOptions: ParsableArguments {
    @OptionGroup var common: SettingsOptions

    @Option(name: .long, help: "Unix socket path to create when no socket is inherited.")
    var socket: String?

    @Option(name: .long, help: "Worker threads.")
    var threads: String?

    func load() throws -> PlugindSettings {
        var overrides: [(key: String, value: String)] = []
        if let socket { overrides.append(("socket", socket)) }
        if let threads { overrides.append(("threads", threads)) }
        return try common.load(overrides: overrides, flags: ["socket": "--socket", "threads": "--threads"])
    }
}

/// What the CLI tells on stderr before it acts, so that nobody writes to a state directory they did not mean.
func announce(_ settings: PlugindSettings) {
    FileHandle.standardError.write(Data("plugind: state directory \(settings.stateDirWithSource)\n".utf8))
}
