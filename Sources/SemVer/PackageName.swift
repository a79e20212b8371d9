/// npm package names: validate-npm-package-name 5's rules, with scoped names checked part by part.
public enum PackageName {
    /// npm's limit for new names (validate-npm-package-name); also applied to legacy names here.
    public static let maxLength = 214

    /// Node's `require('module').builtinModules` without the `/`-paths and `_`-names, which fail other rules anyway
    /// (node 20 plus later additions; `node:`-only modules such as `node:test` are not bare names).
    public static let nodeBuiltinModules: Set<String> = [
        "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto", "dgram",
        "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2", "https", "inspector", "module", "net",
        "os", "path", "perf_hooks", "process", "punycode", "querystring", "readline", "repl", "stream",
        "string_decoder", "sys", "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm", "wasi",
        "worker_threads", "zlib",
    ]

    /// Names npm refuses whatever their case.
    public static let blockedNames: Set<String> = ["node_modules", "favicon.ico"]

    /// `@scope/name` split into its parts; nil when the shape is wrong (a second `/`, an empty part, `@` without `/`).
    public static func components(_ name: String) -> (scope: String?, name: String)? {
        let pieces = name.split(separator: "/", omittingEmptySubsequences: false)
        if name.hasPrefix("@") {
            guard pieces.count == 2, pieces[0].count > 1, !pieces[1].isEmpty else { return nil }
            return (String(pieces[0].dropFirst()), String(pieces[1]))
        }
        guard pieces.count == 1, !name.isEmpty else { return nil }
        return (nil, name)
    }

    /// Why `name` is not acceptable for a new package; empty when it is.
    public static func problems(_ name: String) -> [String] {
        var problems = structuralProblems(name)
        if name.utf16.count > maxLength { problems.append("name can no longer contain more than \(maxLength) characters") }
        if name.lowercased() != name { problems.append("name can no longer contain capital letters") }
        if nodeBuiltinModules.contains(name.lowercased()) { problems.append("\(name) is a core module name") }
        if let parts = components(name), [parts.scope, parts.name].contains(where: { $0?.contains(where: "~'!()*".contains) == true }) {
            problems.append("name can no longer contain special characters (\"~'!()*\")")
        }
        return problems
    }

    /// validate-npm-package-name's `validForNewPackages`, each part of a scoped name checked like a whole name.
    public static func isValidForNewPackages(_ name: String) -> Bool {
        problems(name).isEmpty
    }

    /// A name npm still serves from before today's rules (`validForOldPackages`: capitals, `~'!()*`, core module
    /// names allowed) — but never anything unsafe as a path or a URL: at most 214 characters, URL-safe characters only
    /// (so no spaces, control characters or NUL), no `/` beyond the scope's, no part starting with `.` or `_`, no `..`.
    public static func isLegacyName(_ name: String) -> Bool {
        structuralProblems(name).isEmpty && name.utf16.count <= maxLength && !name.contains("..")
    }

    /// The rules both new and legacy names obey (validate-npm-package-name's errors).
    private static func structuralProblems(_ name: String) -> [String] {
        guard !name.isEmpty else { return ["name length must be greater than zero"] }
        var problems: [String] = []
        if JSText.trim(name) != name { problems.append("name cannot contain leading or trailing spaces") }
        guard let parts = components(name) else {
            return problems + ["name can only contain URL-friendly characters"]
        }
        for part in [parts.scope, parts.name].compactMap({ $0 }) {
            if part.hasPrefix(".") { problems.append("name cannot start with a period") }
            if part.hasPrefix("_") { problems.append("name cannot start with an underscore") }
            if !part.unicodeScalars.allSatisfy(VersionSpec.isURIComponentSafe) {
                problems.append("name can only contain URL-friendly characters")
            }
            if blockedNames.contains(part.lowercased()) { problems.append("\(part.lowercased()) is a blacklisted name") }
        }
        var seen = Set<String>()
        return problems.filter { seen.insert($0).inserted }
    }
}
