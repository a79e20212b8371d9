import Foundation
import Glibc
import Testing
@testable import Adapters

/// git as plugind runs it: no repository hooks, no fsmonitor, no global config.
@Suite struct GitCommandTests {
    let git = GitCommand(path: ChildProcess.defaultSearchPath, home: "/nonexistent")

    func temporary() -> String {
        let dir = NSTemporaryDirectory() + "plugind-git-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Whatever a user's ~/.gitconfig says, plugind's git never reads it.
    @Test func noGlobalConfigIsRead() throws {
        let dir = temporary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[init]\n\tdefaultBranch = from-the-global-config\n".write(toFile: dir + "/.gitconfig", atomically: true, encoding: .utf8)
        let withHome = GitCommand(path: ChildProcess.defaultSearchPath, home: dir)
        #expect(try withHome.run(["init", "-q", dir + "/repo"], in: nil, timeoutMs: 30_000, scrubber: SecretScrubber()).exitCode == 0)
        let head = try withHome.run(["symbolic-ref", "HEAD"], in: dir + "/repo", timeoutMs: 30_000, scrubber: SecretScrubber())
        #expect(!head.stdout.contains("from-the-global-config"), "\(head.stdout)")
    }

    @Test func aRepositorysHooksAndFsmonitorNeverRun() throws {
        let dir = temporary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = dir + "/repo"
        #expect(try git.run(["init", "-q", repo], in: nil, timeoutMs: 30_000, scrubber: SecretScrubber()).exitCode == 0)
        let hook = repo + "/.git/hooks/pre-commit"
        let fsmonitor = dir + "/fsmonitor.sh"
        for (path, marker) in [(hook, dir + "/hook-ran"), (fsmonitor, dir + "/fsmonitor-ran")] {
            try "#!/bin/sh\ntouch \(marker)\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        try "[core]\n\tfsmonitor = \(fsmonitor)\n".write(toFile: repo + "/.git/config", atomically: false, encoding: .utf8)
        try "x\n".write(toFile: repo + "/f", atomically: true, encoding: .utf8)
        _ = try git.run(["add", "f"], in: repo, timeoutMs: 30_000, scrubber: SecretScrubber())
        _ = try git.run(["status", "--porcelain"], in: repo, timeoutMs: 30_000, scrubber: SecretScrubber())
        let committed = try git.run(["commit", "-q", "-m", "x"], in: repo, timeoutMs: 30_000, scrubber: SecretScrubber())
        #expect(committed.exitCode == 0, "\(committed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/hook-ran"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/fsmonitor-ran"))
    }

    /// A failure is told by git's `fatal:`/`error:` line, not by the hints after it; else by its last words.
    @Test func failureReasonIsGitsOwnLine() {
        let output = "Cloning into 'x'...\nfatal: repository 'https://example.invalid/x' not found\nhint: check the URL\n"
        #expect(GitCommand.failureReason(output) == "fatal: repository 'https://example.invalid/x' not found")
        #expect(GitCommand.failureReason("something odd\n  \n") == "something odd")
        #expect(GitCommand.failureReason("") == "")
        #expect(GitCommand.failureReason("error: " + String(repeating: "x", count: 500)).count == 300)
    }
}
