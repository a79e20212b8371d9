import Foundation

/// Where a setting's value came from, so that an error and the CLI can say so.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    /// The settings file, by its path.
    case file(String)
    /// A `PLUGIND_*` variable, by its name.
    case environment(String)
    /// A command-line flag (`--state-dir`, `--set threads`).
    case flag(String)

    public var description: String {
        switch self {
        case .defaultValue: "the default"
        case .file(let path): path
        case .environment(let name): name
        case .flag(let flag): flag
        }
    }

    /// How an error names the setting: "threads in /etc/plugind/settings.json", "PLUGIND_THREADS", "--threads".
    func subject(for key: String) -> String {
        switch self {
        case .defaultValue: key
        case .file(let path): "\(key) in \(path)"
        case .environment(let name): name
        case .flag(let flag): flag
        }
    }
}

extension PlugindSettings {
    /// Read when neither `--settings` nor `PLUGIND_SETTINGS` names a file and it exists (the systemd units use it).
    public static let defaultFile = "/etc/plugind/settings.json"

    /// The settings file every command reads: `--settings`, else `PLUGIND_SETTINGS`, else `defaultFile` if it exists.
    public static func file(flag: String?, environment: [String: String]) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let named = environment["PLUGIND_SETTINGS"], !named.isEmpty { return named }
        return FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil
    }

    public func source(_ key: String) -> SettingSource { sources[key] ?? .defaultValue }

    /// "/var/lib/plugind (the default)", "/srv/plugind (stateDir in /etc/plugind/settings.json)": what the CLI reports.
    public var stateDirWithSource: String {
        switch source("stateDir") {
        case .defaultValue: "\(stateDir) (the default; --state-dir, PLUGIND_STATE_DIR or a settings file choose another)"
        case let other: "\(stateDir) (from \(other.subject(for: "stateDir")))"
        }
    }

    /// What an operator types to create an admin token for the plugind these settings run: the dashboard's sign-in
    /// hint. `cliCommand` when set (scripts/run's wrapper); otherwise plugind's own path (`plugind` when it lies
    /// on the usual PATH), after `sudo` when plugind runs as a system user, with `--state-dir` unless a plain
    /// `plugind` on this host (the default settings file, no environment) finds the same state directory.
    public func tokenCommand(executable: String, systemUser: Bool) -> String {
        if let configured = string("cliCommand") { return configured + " token create --role admin" }
        var words = systemUser ? ["sudo"] : []
        let directory = (executable as NSString).deletingLastPathComponent
        let onPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].contains(directory)
        words.append(onPath && executable.hasSuffix("/plugind") ? "plugind" : Self.shellQuoted(executable))
        words += ["token", "create", "--role", "admin"]
        let found = try? PlugindSettings(file: Self.file(flag: nil, environment: [:]))
        if found?.stateDir != stateDir { words += ["--state-dir", Self.shellQuoted(stateDir)] }
        return words.joined(separator: " ")
    }

    /// A word a POSIX shell reads back unchanged.
    public static func shellQuoted(_ word: String) -> String {
        let plain = word.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+=:@,".unicodeScalars.contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension SettingsTable {
    /// The known setting a misspelt key most likely meant: the same letters in another case (or with `_`/`-`
    /// between words), else the nearest by edit distance when it is close enough to be a typo.
    public static func suggestion(for key: String) -> String? {
        let lower = key.lowercased()
        if let same = all.first(where: { $0.key.lowercased() == lower }) { return same.key }
        let squashed = lower.filter { $0 != "_" && $0 != "-" }
        if let same = all.first(where: { $0.key.lowercased().filter { $0 != "." } == squashed.filter { $0 != "." } }) {
            return same.key
        }
        let ranked = all.map { (key: $0.key, distance: editDistance(lower, $0.key.lowercased())) }.min { $0.distance < $1.distance }
        guard let best = ranked, best.distance <= max(2, key.count / 4) else { return nil }
        return best.key
    }

    /// "; did you mean 'registryTtlSeconds'?" or nothing.
    static func didYouMean(_ key: String) -> String {
        suggestion(for: key).map { "; did you mean '\($0)'?" } ?? "; docs/configuration.md lists every setting."
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
