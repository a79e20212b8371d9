import Foundation
import Glibc

/// Who should own what in a state directory, and with which mode (docs/security.md, "Who may touch what"):
/// `plugind doctor` reports every difference, and with `--fix` repairs it. It is also how a state directory
/// from before the three identities (everything plugind's) is moved to the new layout.
public struct StateAudit: Sendable {
    /// One difference between the state directory and the layout.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let problem: String
        public let fixed: Bool
        public var description: String { "\(path): \(problem)\(fixed ? " (fixed)" : "")" }
    }

    public let stateDir: String
    public let agentConfigPath: String
    /// plugind's own user and group.
    public let owner: (uid: uid_t, gid: gid_t)
    /// The installer's user and group (the plugin root), when there is one.
    public let installer: (uid: uid_t, gid: gid_t)?
    /// The group that may read the agent config, when there is one.
    public let agentConfigGroup: gid_t?

    public init(stateDir: String, agentConfigPath: String, owner: (uid: uid_t, gid: gid_t), installer: (uid: uid_t, gid: gid_t)?, agentConfigGroup: gid_t?) {
        self.stateDir = stateDir
        self.agentConfigPath = agentConfigPath
        self.owner = owner
        self.installer = installer
        self.agentConfigGroup = agentConfigGroup
    }

    /// Checks (and with `fix`, repairs) every path the layout names; an empty answer means all is as it should be.
    public func run(fix: Bool) -> [Finding] {
        var findings: [Finding] = []
        var exists = stat()
        if lstat(stateDir, &exists) != 0 {
            let done = fix && mkdir(stateDir, 0o700) == 0 && chown(stateDir, owner.uid, owner.gid) == 0
            return [Finding(path: stateDir, problem: "does not exist (plugind creates it at its first start; --fix creates it now)", fixed: done)]
        }
        func expect(_ path: String, uid: uid_t, gid: gid_t?, modes: Set<mode_t>, recursive: Bool = false) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            if info.st_mode & S_IFMT == S_IFLNK {
                findings.append(Finding(path: path, problem: "is a symbolic link; plugind's files never are (remove it)", fixed: false))
                return
            }
            let mode = info.st_mode & 0o7777
            if info.st_uid != uid || (gid.map { info.st_gid != $0 } ?? false) {
                let wanted = "\(Self.userName(uid))\(gid.map { ":" + Self.groupName($0) } ?? "")"
                var done = false
                if fix {
                    done = recursive ? Self.chownTree(path, uid: uid, gid: gid ?? info.st_gid) : lchown(path, uid, gid ?? info.st_gid) == 0
                }
                findings.append(Finding(
                    path: path, problem: "is owned by \(Self.userName(info.st_uid)):\(Self.groupName(info.st_gid)), not \(wanted)", fixed: done))
            }
            if !modes.contains(mode), let wanted = modes.min() {
                let done = fix && chmod(path, wanted) == 0
                findings.append(Finding(path: path, problem: "has mode \(Self.octal(mode)), not \(Self.octal(wanted))", fixed: done))
            }
        }
        let layout = StateLayout(root: stateDir)
        for place in layout.places {
            switch place.owner {
            case .plugind:
                expect(place.path, uid: owner.uid, gid: nil, modes: Set(place.modes.map(mode_t.init)))
            case .installer:
                guard let installer else { continue }
                // The plugin root holds the installer's whole tree: owner checked all the way down.
                expect(place.path, uid: installer.uid, gid: installer.gid, modes: Set(place.modes.map(mode_t.init)), recursive: place.path == layout.plugins)
            }
        }
        if let group = agentConfigGroup {
            expect(agentConfigPath, uid: owner.uid, gid: group, modes: [0o640])
        } else {
            expect(agentConfigPath, uid: owner.uid, gid: nil, modes: [0o600])
        }
        // Left by the single-user layout: npm's cache and downloads now live under plugins/.
        for old in ["tmp", "cache/npm"] where FileManager.default.fileExists(atPath: stateDir + "/" + old) {
            let done = fix && (try? FileManager.default.removeItem(atPath: stateDir + "/" + old)) != nil
            findings.append(Finding(path: stateDir + "/" + old, problem: "is left from an older layout (npm's files now live under plugins/)", fixed: done))
        }
        return findings
    }

    private static func chownTree(_ root: String, uid: uid_t, gid: gid_t) -> Bool {
        var ok = lchown(root, uid, gid) == 0
        if let walker = FileManager.default.enumerator(atPath: root) {
            while let relative = walker.nextObject() as? String {
                ok = lchown(root + "/" + relative, uid, gid) == 0 && ok
            }
        }
        return ok
    }

    static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }

    static func userName(_ uid: uid_t) -> String {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? String(uid)
    }

    static func groupName(_ gid: gid_t) -> String {
        getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? String(gid)
    }
}
