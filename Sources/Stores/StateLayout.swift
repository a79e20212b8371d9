/// The state directory, every place in it, and who owns each with which mode — the one description every service,
/// `plugind runner` and `plugind doctor` use (docs/security.md, "Who may touch what").
public struct StateLayout: Sendable, Equatable {
    /// Whose a place is: plugind's own user, or the installer identity (`plugind runner`'s user).
    public enum Owner: Sendable, Equatable { case plugind, installer }

    public struct Place: Sendable, Equatable {
        public let path: String
        public let owner: Owner
        /// The modes the place may have (the first is what plugind creates).
        public let modes: [UInt16]
    }

    public let root: String

    public init(root: String) {
        self.root = root
    }

    // plugind's own files (0600 in a 0700 or 0710 directory).
    public var database: String { root + "/state.db" }
    public var tokens: String { root + "/tokens.json" }
    /// The agent config, unless the settings name another file.
    public var defaultAgentConfig: String { root + "/milady.json" }

    // The installer's tree: everything under plugins/ is created, moved and removed by the installer identity.
    public var plugins: String { root + "/plugins" }
    /// One directory per installed package, npm's tree inside (readable by the agent runtime).
    public var installed: String { plugins + "/installed" }
    /// One git checkout per ejected plugin (readable by the agent runtime).
    public var ejected: String { plugins + "/ejected" }
    /// Copies a reinject set aside, never deleted by plugind.
    public var ejectedArchive: String { plugins + "/ejected-archive" }
    /// One directory per running operation (a staged tree, a clone); left over only by a crash, cleared at start.
    public var staging: String { plugins + "/.staging" }
    /// Previous versions kept aside until an install or uninstall is committed.
    public var aside: String { plugins + "/.aside" }
    /// The one previous version of each installed package (a directory named like its install directory), kept for
    /// a rollback; private to the installer until a rollback moves it back into `installed`.
    public var kept: String { plugins + "/.previous" }
    /// The operations' verified tarballs and npm's temporary files.
    public var downloads: String { plugins + "/.tmp" }
    /// npm's HOME and cache (never readable by the runtime).
    public var npmHome: String { plugins + "/.npm" }
    public var npmCache: String { npmHome + "/cache" }

    /// Every place with a fixed owner and mode, the state directory first.
    public var places: [Place] {
        [
            Place(path: root, owner: .plugind, modes: [0o700, 0o710]),
            Place(path: tokens, owner: .plugind, modes: [0o600]),
            Place(path: database, owner: .plugind, modes: [0o600]),
            Place(path: database + "-wal", owner: .plugind, modes: [0o600]),
            Place(path: database + "-shm", owner: .plugind, modes: [0o600]),
            Place(path: plugins, owner: .installer, modes: [0o755]),
            Place(path: installed, owner: .installer, modes: [0o755]),
            Place(path: npmHome, owner: .installer, modes: [0o700]),
            Place(path: staging, owner: .installer, modes: [0o700]),
            Place(path: aside, owner: .installer, modes: [0o700]),
            Place(path: kept, owner: .installer, modes: [0o700]),
            Place(path: downloads, owner: .installer, modes: [0o700]),
        ]
    }
}
