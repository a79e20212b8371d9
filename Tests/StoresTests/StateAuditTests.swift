import Foundation
import Glibc
import Testing
@testable import Stores

/// `plugind doctor`: every owner and mode of a state directory, reported, and with --fix repaired.
/// The suite runs as root (as CI does), so it can hand files to another user (nobody) and back.
@Suite(.serialized) struct StateAuditTests {
    let nobody: (uid: uid_t, gid: gid_t) = (65534, 65534)

    func stateDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "plugind-audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/plugins/installed/x", withIntermediateDirectories: true)
        for (name, mode) in [("tokens.json", 0o600), ("state.db", 0o600), ("milady.json", 0o600)] as [(String, mode_t)] {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("{}".utf8))
            chmod(dir + "/" + name, mode)
        }
        FileManager.default.createFile(atPath: dir + "/plugins/installed/x/package.json", contents: Data("{}".utf8))
        chmod(dir, 0o700)
        chmod(dir + "/plugins", 0o755)
        return dir
    }

    func audit(_ dir: String, installer: (uid: uid_t, gid: gid_t)? = nil, group: gid_t? = nil) -> StateAudit {
        StateAudit(stateDir: dir, agentConfigPath: dir + "/milady.json", owner: (getuid(), getgid()), installer: installer, agentConfigGroup: group)
    }

    @Test func aCleanDirectoryHasNoFindings() throws {
        let dir = try stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(audit(dir).run(fix: false) == [])
    }

    @Test func aWrongModeIsReportedAndFixed() throws {
        let dir = try stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir + "/tokens.json", 0o644)
        chmod(dir, 0o755)
        let findings = audit(dir).run(fix: false)
        #expect(Set(findings.map(\.description)) == [
            "\(dir): has mode 0755, not 0700", "\(dir)/tokens.json: has mode 0644, not 0600",
        ])
        var info = stat()
        stat(dir + "/tokens.json", &info)
        #expect(info.st_mode & 0o777 == 0o644, "nothing changes without --fix")
        #expect(audit(dir).run(fix: true).allSatisfy { $0.fixed })
        #expect(audit(dir).run(fix: false) == [])
    }

    @Test func aWrongOwnerIsReportedAndFixed() throws {
        let dir = try stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chown(dir + "/state.db", nobody.uid, nobody.gid)
        let findings = audit(dir).run(fix: false)
        #expect(findings.count == 1 && findings[0].description.hasPrefix("\(dir)/state.db: is owned by nobody:"), "\(findings)")
        #expect(audit(dir).run(fix: true).allSatisfy { $0.fixed })
        var info = stat()
        stat(dir + "/state.db", &info)
        #expect(info.st_uid == getuid())
    }

    /// A single-user state directory moves to the three identities' layout: the plugin root becomes the
    /// installer's, every file in it, and the old npm folders go.
    @Test func migrationHandsThePluginRootToTheInstaller() throws {
        let dir = try stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/cache/npm", withIntermediateDirectories: true)
        let findings = audit(dir, installer: nobody).run(fix: false)
        #expect(findings.contains { $0.path == dir + "/plugins" && $0.problem.hasPrefix("is owned by root:root, not nobody:") })
        #expect(findings.contains { $0.path == dir + "/cache/npm" })
        #expect(audit(dir, installer: nobody).run(fix: true).allSatisfy { $0.fixed })
        var info = stat()
        stat(dir + "/plugins/installed/x/package.json", &info)
        #expect(info.st_uid == nobody.uid, "the whole tree is the installer's")
        #expect(!FileManager.default.fileExists(atPath: dir + "/cache/npm"))
        #expect(audit(dir, installer: nobody).run(fix: false) == [])
    }

    @Test func theAgentConfigIsReadableByItsGroupOnly() throws {
        let dir = try stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let findings = audit(dir, group: nobody.gid).run(fix: true)
        #expect(findings.count == 2 && findings.allSatisfy { $0.fixed }, "\(findings)")
        var info = stat()
        stat(dir + "/milady.json", &info)
        #expect(info.st_gid == nobody.gid && info.st_mode & 0o777 == 0o640)
    }

    @Test func aSymbolicLinkIsReportedNeverFollowed() throws {
        let dir = try stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        unlink(dir + "/tokens.json")
        symlink("/etc/passwd", dir + "/tokens.json")
        let findings = audit(dir).run(fix: true)
        #expect(findings.count == 1 && findings[0].problem.contains("symbolic link") && !findings[0].fixed)
        var info = stat()
        stat("/etc/passwd", &info)
        #expect(info.st_mode & 0o777 == 0o644, "the link's target was left alone")
    }
}
