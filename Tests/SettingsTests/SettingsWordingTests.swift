import Foundation
import JSON
import Testing
@testable import Settings

/// What a person reads when a setting is wrong, and the command the sign-in page shows.
@Suite struct SettingsWordingTests {
    @Test(arguments: [
        ("registryTTLSeconds", "registryTtlSeconds"),  // same letters, other case
        ("REGISTRY_TTL_SECONDS", "registryTtlSeconds"),  // written like its variable
        ("treads", "threads"), ("logLevle", "logLevel"), ("timeouts.npmMS", "timeouts.npmMs"), ("statedir", "stateDir"),
    ])
    func suggestsTheNearestKey(_ typo: String, _ meant: String) {
        #expect(SettingsTable.suggestion(for: typo) == meant)
    }

    @Test func suggestsNothingForAStrangerKey() {
        #expect(SettingsTable.suggestion(for: "completelyUnrelatedThing") == nil)
    }

    private func error(file content: String) throws -> (path: String, message: String) {
        let path = NSTemporaryDirectory() + "settings-\(UUID().uuidString).json"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try PlugindSettings(file: path)
        } catch let error as SettingsError {
            return (path, error.description)
        }
        Issue.record("\(content) was accepted")
        return (path, "")
    }

    @Test func anUnknownKeyNamesTheFileAndTheSuggestion() throws {
        let (path, message) = try error(file: #"{"registryTTLSeconds": 60}"#)
        #expect(message == "\(path): unknown setting 'registryTTLSeconds' (set to 60); did you mean 'registryTtlSeconds'?")
    }

    @Test func aBadValueNamesTheFileKeyAndValue() throws {
        let (path, message) = try error(file: #"{"threads": "16"}"#)
        #expect(message == "threads in \(path) must be a whole number, not \"16\".")
        let range = try error(file: #"{"threads": 1000}"#)
        #expect(range.message == "threads in \(range.path) must be between 2 and 256, not 1000.")
    }

    @Test func aSecretIsNeverEchoed() throws {
        let (_, message) = try error(file: #"{"npmRegistryToken": 12345678}"#)
        #expect(message.contains("npmRegistryToken") && !message.contains("12345678"))
    }

    @Test func environmentAndFlagsAreNamedAsTheUserWroteThem() {
        #expect(throws: SettingsError("PLUGIND_THREADS must be between 2 and 256, not 1.")) {
            try PlugindSettings(environment: ["PLUGIND_THREADS": "1"])
        }
        #expect(throws: SettingsError("--threads must be a whole number, not 'x'.")) {
            try PlugindSettings(overrides: [("threads", "x")], flags: ["threads": "--threads"])
        }
    }

    @Test func theStateDirSaysWhereItCameFrom() throws {
        #expect(try PlugindSettings(environment: ["PLUGIND_STATE_DIR": "/tmp/x"]).stateDirWithSource == "/tmp/x (from PLUGIND_STATE_DIR)")
        #expect(try PlugindSettings().stateDirWithSource.hasPrefix("/var/lib/plugind (the default"))
    }

    @Test func tokenCommandForASystemdDeployment() throws {
        let settings = try PlugindSettings(environment: ["PLUGIND_STATE_DIR": "/var/lib/plugind"])
        #expect(settings.tokenCommand(executable: "/usr/local/bin/plugind", systemUser: true) == "sudo plugind token create --role admin")
    }

    @Test func tokenCommandNamesAStateDirAPlainPlugindWouldNotFind() throws {
        let settings = try PlugindSettings(overrides: [("stateDir", "/srv/my state")])
        #expect(settings.tokenCommand(executable: "/opt/plugind/bin/plugind", systemUser: false)
            == "/opt/plugind/bin/plugind token create --role admin --state-dir '/srv/my state'")
    }

    @Test func tokenCommandUsesTheConfiguredCLI() throws {
        let settings = try PlugindSettings(environment: ["PLUGIND_CLI_COMMAND": "/repo/.plugind-dev/bin/plugind", "PLUGIND_STATE_DIR": "/repo/.plugind-dev"])
        #expect(settings.tokenCommand(executable: "/repo/.build/release/plugind", systemUser: false)
            == "/repo/.plugind-dev/bin/plugind token create --role admin")
    }
}
