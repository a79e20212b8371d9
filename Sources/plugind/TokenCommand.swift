import ArgumentParser
import Foundation
import Settings
import Stores

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, rotate or list API tokens. A token is printed once and never stored in plain text.",
        discussion: """
            The state directory is found as `plugind serve` finds it: --state-dir, else PLUGIND_STATE_DIR, else the \
            settings file's stateDir (--settings, PLUGIND_SETTINGS or /etc/plugind/settings.json), else /var/lib/plugind; \
            the one used is printed on stderr. Run as root, what it writes stays plugind's user's.
            """,
        subcommands: [Create.self, Rotate.self, List.self])

    /// What both subcommands take: where the state is, and the role.
    struct RoleOptions: ParsableArguments {
        @OptionGroup var state: StateOptions
        @Option(help: ArgumentHelp("admin (may change everything) or read (may only look).", valueName: "admin|read"))
        var role: String
        @Option(help: ArgumentHelp(
            "A name for the token (1 to 64 printable characters), shown with its id in the audit trail and by 'plugind token list'.",
            valueName: "text"))
        var label: String?
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a token for a role; existing tokens keep working.")
        @OptionGroup var options: RoleOptions

        func run() throws { try Token.issue(role: options.role, label: options.label, options: options.state, replacing: false) }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace every token of a role with one new token.")
        @OptionGroup var options: RoleOptions

        func run() throws { try Token.issue(role: options.role, label: options.label, options: options.state, replacing: true) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each token's id, role and label (never the token), oldest first.")
        @OptionGroup var state: StateOptions

        func run() throws {
            let settings = try state.load()
            announce(settings)
            let tokens: [TokenStore.Identity]
            do {
                tokens = try TokenStore(path: settings.tokensPath).list()
            } catch {
                throw CLIError("Cannot read \(settings.tokensPath): \(error); check its owner and mode with 'plugind doctor'.")
            }
            for token in tokens {
                print([token.id, token.role.rawValue, token.label ?? "-"].joined(separator: "\t"))
            }
        }
    }

    static func issue(role text: String, label: String?, options: StateOptions, replacing: Bool) throws {
        guard let role = TokenStore.Role(rawValue: text) else { throw CLIError("--role must be admin or read, not '\(text.prefix(50))'.") }
        if let label, let problem = TokenStore.labelProblem(label) { throw CLIError("--label: \(problem)") }
        let settings = try options.load()
        announce(settings)
        let ownership = try StateOwnership.prepare(stateDir: settings.stateDir)
        let token: String
        do {
            token = try TokenStore(path: settings.tokensPath).create(role: role, replacing: replacing, label: label)
        } catch {
            throw CLIError("Cannot write \(settings.tokensPath): \(error); check its owner and mode with 'plugind doctor'.")
        }
        ownership.settle(settings.tokensPath)
        print(token)
    }
}

/// What the CLI writes in the state directory gets the owner and mode `StateLayout` gives it: run as root, plugind's
/// own user's (the state directory's owner, or for a new one the user PLUGIND_USER names, default plugind), so the
/// running plugind can still read it.
struct StateOwnership {
    let layout: StateLayout
    /// nil: files stay the writer's (not root, or no plugind user to give them to).
    let owner: (uid: uid_t, gid: gid_t)?

    static func prepare(stateDir: String) throws -> StateOwnership {
        let layout = StateLayout(root: stateDir)
        var info = stat()
        let exists = stat(stateDir, &info) == 0
        if exists && info.st_mode & S_IFMT != S_IFDIR {
            throw CLIError("\(stateDir) is not a directory; point --state-dir or PLUGIND_STATE_DIR at plugind's state directory.")
        }
        var owner: (uid: uid_t, gid: gid_t)?
        let userName = ProcessInfo.processInfo.environment["PLUGIND_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "plugind"
        if geteuid() == 0 {
            if exists {
                if info.st_uid != 0 { owner = (info.st_uid, info.st_gid) }
            } else if let entry = getpwnam(userName) {
                owner = (entry.pointee.pw_uid, entry.pointee.pw_gid)
            }
        }
        if !exists {
            let mode = layout.places.first { $0.path == layout.root }?.modes.first ?? 0o700
            let parent = (stateDir as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw CLIError("Cannot create \(parent) for the state directory \(stateDir); run as root, or choose another with --state-dir.")
            }
            guard mkdir(stateDir, mode_t(mode)) == 0 || errno == EEXIST, chmod(stateDir, mode_t(mode)) == 0 else {
                throw CLIError("Cannot create the state directory \(stateDir): \(Self.reason(errno)); run as root, or choose another with --state-dir.")
            }
            if let owner, chown(stateDir, owner.uid, owner.gid) != 0 {
                throw CLIError("Cannot give \(stateDir) to \(userName): \(Self.reason(errno)).")
            }
            let whose = owner != nil ? ", owned by \(userName)" : ""
            FileHandle.standardError.write(Data("plugind: created \(stateDir) (mode 0\(String(mode, radix: 8))\(whose))\n".utf8))
        }
        if access(stateDir, W_OK) != 0 {
            throw CLIError(
                "Cannot write to \(stateDir) as \(Self.currentUser()): run as root (sudo) or as its owner, or choose another state directory with --state-dir.")
        }
        return StateOwnership(layout: layout, owner: owner)
    }

    /// `path`'s mode becomes the layout's, and its owner plugind's user when run as root.
    func settle(_ path: String) {
        guard let place = layout.places.first(where: { $0.path == path }), let wanted = place.modes.first else { return }
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        if !place.modes.contains(UInt16(info.st_mode & 0o7777)) { chmod(path, mode_t(wanted)) }
        if let owner, place.owner == .plugind, info.st_uid != owner.uid || info.st_gid != owner.gid {
            chown(path, owner.uid, owner.gid)
        }
    }

    static func reason(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }

    static func currentUser() -> String {
        getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
    }
}
