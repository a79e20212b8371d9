import Adapters
import ArgumentParser
import Foundation
import JSON

/// `plugind manifest export|plan|apply` against a running plugind, so a fleet converges with the tools it already
/// runs (docs/fleet.md). The token comes from --token-file or PLUGIND_TOKEN, never a flag (a flag shows in `ps`).
struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "Export, plan or apply the agent's plugin set as a manifest, against a running plugind.",
        discussion: """
            The URL is --url or PLUGIND_URL (the dashboard's address, e.g. https://agent.example:8443); the token is \
            read from --token-file or PLUGIND_TOKEN_FILE, else PLUGIND_TOKEN (export needs a read token, plan and apply \
            an admin one). A self-signed certificate is trusted with --ca-file or PLUGIND_CA_FILE.
            """,
        subcommands: [Export.self, Plan.self, Apply.self])

    struct Connection: ParsableArguments {
        @Option(help: "plugind's address (default: PLUGIND_URL).") var url: String?
        @Option(name: .customLong("token-file"), help: "A file holding the API token (default: PLUGIND_TOKEN_FILE, else PLUGIND_TOKEN).")
        var tokenFile: String?
        @Option(name: .customLong("ca-file"), help: "PEM certificates to trust for plugind's TLS (default: PLUGIND_CA_FILE).")
        var caFile: String?

        func client() throws -> ManifestClient {
            let environment = ProcessInfo.processInfo.environment
            guard let base = (url ?? environment["PLUGIND_URL"]).flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw CLIError("Name the running plugind with --url or PLUGIND_URL (e.g. https://127.0.0.1:8443).")
            }
            let token: String
            if let path = tokenFile ?? environment["PLUGIND_TOKEN_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    throw CLIError("Cannot read the token file \(path); check --token-file or PLUGIND_TOKEN_FILE.")
                }
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let text = environment["PLUGIND_TOKEN"], !text.isEmpty {
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                throw CLIError("Give an API token with --token-file or PLUGIND_TOKEN_FILE (or PLUGIND_TOKEN); create one with 'plugind token create'.")
            }
            guard !token.isEmpty else { throw CLIError("The token file is empty; put the token from 'plugind token create' in it.") }
            return ManifestClient(base: base, token: token, caFile: caFile ?? environment["PLUGIND_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the agent's manifest to FILE (or stdout), byte-stable for git.")
        @OptionGroup var connection: Connection
        @Argument(help: "Where to write it; '-' or nothing: stdout.") var file: String?

        func run() throws {
            let bytes = try connection.client().send("GET", "/manifest", body: nil).body
            if let file, file != "-" {
                do {
                    try Data(bytes).write(to: URL(fileURLWithPath: file), options: .atomic)
                } catch {
                    throw CLIError("Cannot write \(file): \(error.localizedDescription)")
                }
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what applying FILE would change, as a table; changes nothing.")
        @OptionGroup var connection: Connection
        @Argument(help: "The manifest ('-': stdin).") var file: String
        @Option(help: "A plugin to leave as it is (repeatable).") var skip: [String] = []
        @Flag(name: .customLong("detailed-exitcode"), help: "Exit 2 when the plan has changes (0: none), for drift checks.")
        var detailedExitCode = false

        func run() throws {
            let answer = try connection.client().send("POST", "/manifest/plan" + ManifestClient.query(skip), body: try ManifestClient.read(file))
            let plan = try ManifestClient.parse(answer.body)
            print(ManifestClient.table(plan), terminator: "")
            if detailedExitCode && !(plan["changes"]?.arrayValue ?? []).isEmpty { throw ExitCode(2) }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Converge the agent to FILE: one operation, all or nothing; exits non-zero when it fails.")
        @OptionGroup var connection: Connection
        @Argument(help: "The manifest ('-': stdin).") var file: String
        @Option(help: "A plugin to leave as it is, e.g. an ejected copy with local commits (repeatable).") var skip: [String] = []

        func run() throws {
            let client = try connection.client()
            let operationId = UUID().uuidString.lowercased()
            FileHandle.standardError.write(Data("plugind: applying as operation \(operationId)\n".utf8))
            let answer = try client.send(
                "POST", "/manifest/apply" + ManifestClient.query(skip), body: try ManifestClient.read(file), operationId: operationId)
            let result = try ManifestClient.parse(answer.body)
            print(ManifestClient.table(result), terminator: "")
            if let message = result["message"]?.stringValue { print(message) }
        }
    }
}

/// The HTTP side of the manifest commands: one request at a time, errors as one line.
struct ManifestClient {
    let base: String
    let token: String
    let caFile: String?

    /// Sends a request to `/api<path>`; a non-2xx answer throws its `error` sentence (and failed step).
    func send(_ method: String, _ path: String, body: [UInt8]?, operationId: String? = nil) throws -> HTTPClientResponse {
        var root = Substring(base)
        while root.hasSuffix("/") { root = root.dropLast() }
        let prefix = root.hasSuffix("/api") ? String(root) : root + "/api"
        var headers = [(name: "Authorization", value: "Bearer \(token)"), (name: "Accept", value: "application/json")]
        if body != nil { headers.append((name: "Content-Type", value: "application/json")) }
        if let operationId { headers.append((name: "X-Operation-Id", value: operationId)) }
        // An apply may take as long as an operation may (nginx allows 900 s).
        let client = HTTPClient(configuration: .init(
            connectTimeout: .seconds(10), totalTimeout: .seconds(900), idleTimeout: .seconds(900), maxResponseBytes: 64 << 20, caFile: caFile,
            userAgent: "plugind-cli"))
        let response: HTTPClientResponse
        do {
            response = try client.send(HTTPClientRequest(method: method, url: prefix + path, headers: headers, body: body))
        } catch {
            throw CLIError("Cannot reach plugind at \(prefix): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let answer = try? JSONParser.parse(response.body, maxDepth: 64)
            var message = answer?["error"]?.stringValue ?? "plugind answered \(response.status)."
            if let field = answer?["field"]?.stringValue { message += " (field: \(field))" }
            for issue in answer?["validationErrors"]?.arrayValue ?? [] {
                message += "\n  \(issue["field"]?.stringValue ?? "?"): \(issue["message"]?.stringValue ?? "")"
            }
            for item in answer?["blocked"]?.arrayValue ?? [] {
                message += "\n  blocked \(item["plugin"]?.stringValue ?? "?"): \(item["reason"]?.stringValue ?? "")"
            }
            throw CLIError("\(message) [HTTP \(response.status)]")
        }
        return response
    }

    static func read(_ file: String) throws -> [UInt8] {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data else { throw CLIError("Cannot read the manifest \(file).") }
        return Array(data)
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        do {
            return try JSONParser.parse(bytes, maxDepth: 64)
        } catch {
            throw CLIError("plugind's answer is not JSON: \(error.description)")
        }
    }

    static func query(_ skip: [String]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let items = skip.map { "skip=" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }

    /// The changes as a table (action, plugin or setting, from, to), then what else the user should know.
    static func table(_ answer: JSONValue) -> String {
        let changes = answer["changes"]?.arrayValue ?? []
        var rows: [[String]] = [["ACTION", "TARGET", "FROM", "TO"]]
        for change in changes {
            var target = change["plugin"]?.stringValue ?? change["key"]?.stringValue ?? ""
            if change["secret"]?.boolValue == true { target += " (secret)" }
            rows.append([change["action"]?.stringValue ?? "?", target, change["from"]?.stringValue ?? "-", change["to"]?.stringValue ?? "-"])
        }
        var out = ""
        if changes.isEmpty {
            out += "No changes: the agent already has this plugin set.\n"
        } else {
            let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                out += row.enumerated().map { column, cell in column == 3 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ") + "\n"
            }
        }
        for item in answer["blocked"]?.arrayValue ?? [] {
            out += "blocked: \(item["plugin"]?.stringValue ?? "?"): \(item["reason"]?.stringValue ?? "")\n"
        }
        for key in answer["missingSecrets"]?.arrayValue ?? [] { out += "missing secret: \(key.stringValue ?? "?")\n" }
        for warning in answer["warnings"]?.arrayValue ?? [] { out += "warning: \(warning.stringValue ?? "")\n" }
        return out
    }
}
