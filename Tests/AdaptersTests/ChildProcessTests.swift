import Adapters
import Foundation
import Glibc
import Synchronization
import Testing

private func shell(
    _ script: String, environment: [String: String] = [:], timeout: Duration? = nil,
    outputLimit: Int = 1 << 20, outputMode: ChildProcess.OutputMode = .separate, scrubber: SecretScrubber = SecretScrubber()
) -> ChildProcess {
    ChildProcess(
        executable: "/bin/sh", arguments: ["-c", script], environment: environment, timeout: timeout,
        terminationGrace: .milliseconds(500), outputLimit: outputLimit, outputMode: outputMode, scrubber: scrubber)
}

/// Whether `pid` is a live process (a zombie waiting for a parent that is not us counts as gone).
private func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Waits up to two seconds for `pid` to disappear (an orphan is reaped by init, not by us).
private func isGoneSoon(_ pid: pid_t) -> Bool {
    for _ in 0..<200 {
        if !isRunning(pid) { return true }
        usleep(10_000)
    }
    return false
}

@Suite("ChildProcess")
struct ChildProcessTests {
    /// The exit code and both output streams are captured separately.
    @Test func capturesExitCodeAndOutput() throws {
        let result = try shell("echo out; echo err >&2; exit 3").run()

        #expect(result.exitCode == 3)
        #expect(result.signal == nil)
        #expect(!result.timedOut)
        #expect(!result.succeeded)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }

    /// In combined mode standard error is interleaved into stdout in write order.
    @Test func combinesStreams() throws {
        let result = try shell("echo one; echo two >&2; echo three", outputMode: .combined).run()

        #expect(result.succeeded)
        #expect(result.stdout == "one\ntwo\nthree\n")
        #expect(result.stderr == "")
    }

    /// The child sees exactly the given environment and nothing inherited from the test process.
    @Test func environmentIsExplicit() throws {
        let child = ChildProcess(executable: "/usr/bin/env", environment: ["GREETING": "hi there", "EMPTY": ""])

        let result = try child.run()

        #expect(Set(result.stdout.split(separator: "\n")) == ["GREETING=hi there", "EMPTY="])
    }

    /// A bare executable name is looked up in the child's PATH, and the working directory is applied.
    @Test func resolvesNameAndSetsWorkingDirectory() throws {
        let child = ChildProcess(executable: "pwd", environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/usr/share")

        let result = try child.run()

        #expect(result.stdout == "/usr/share\n")
        #expect(result.exitCode == 0)
    }

    /// An unknown executable name fails with `.executableNotFound` instead of running anything.
    @Test func unknownExecutableIsReported() {
        let child = ChildProcess(executable: "no-such-tool-\(getpid())", environment: ["PATH": "/usr/bin:/bin"])

        #expect(throws: ChildProcessError.executableNotFound(name: "no-such-tool-\(getpid())")) { try child.run() }
    }

    /// A file that cannot be executed, or a missing working directory, fails with `.spawnFailed` and the errno.
    @Test func unrunnableChildIsReported() throws {
        let notExecutable = "/tmp/adapters-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-data.txt"
        try #require(FileManager.default.createFile(
            atPath: notExecutable, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o644]))
        defer { unlink(notExecutable) }

        #expect(throws: ChildProcessError.spawnFailed(executable: notExecutable, errno: EACCES)) {
            try ChildProcess(executable: notExecutable).run()
        }
        #expect(throws: ChildProcessError.spawnFailed(executable: "/bin/true", errno: ENOENT)) {
            try ChildProcess(executable: "/bin/true", workingDirectory: "/nonexistent-\(getpid())").run()
        }
    }

    /// Standard input bytes reach the child, even when it echoes megabytes back while still reading.
    @Test func feedsStandardInputWithoutDeadlock() throws {
        let input = (0..<3_000_000).map { UInt8(ascii: "a") &+ UInt8($0 % 26) }
        let child = ChildProcess(executable: "/bin/cat", standardInput: input, timeout: .seconds(30), outputLimit: 4_000_000)

        let result = try child.run()

        #expect(result.exitCode == 0)
        #expect(Array(result.stdout.utf8) == input)
    }

    /// A child that exits without reading its input does not take the test process down with SIGPIPE.
    @Test func childIgnoringInputIsHarmless() throws {
        let child = ChildProcess(
            executable: "/bin/true", standardInput: [UInt8](repeating: 1, count: 4_000_000), timeout: .seconds(10))

        let result = try child.run()

        #expect(result.exitCode == 0)
    }

    /// On timeout the whole process group is terminated: the shell and its background grandchild both die.
    @Test func timeoutKillsTheWholeGroup() throws {
        let clock = ContinuousClock()
        let start = clock.now

        let result = try shell("sleep 30 & echo $!; sleep 30", timeout: .seconds(1)).run()

        #expect(result.timedOut)
        #expect(result.signal == SIGTERM)
        #expect(result.exitCode == nil)
        #expect(start.duration(to: clock.now) < .seconds(10))
        let grandchild = try #require(pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isGoneSoon(grandchild))
    }

    /// A child that ignores SIGTERM is killed with SIGKILL after the grace period.
    @Test func ignoredTermIsFollowedByKill() throws {
        let clock = ContinuousClock()
        let start = clock.now

        let result = try shell("trap '' TERM; sleep 30", timeout: .milliseconds(500)).run()

        #expect(result.timedOut)
        #expect(result.signal == SIGKILL)
        #expect(start.duration(to: clock.now) < .seconds(10))
    }

    /// A background process the child leaves behind does not outlive the run.
    @Test func leftoverBackgroundProcessIsKilled() throws {
        let result = try shell("sleep 30 >/dev/null 2>&1 & echo $!").run()

        #expect(result.exitCode == 0)
        let orphan = try #require(pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isGoneSoon(orphan))
    }

    /// Megabytes on both streams at once neither deadlock nor grow unbounded: each keeps only its last bytes.
    @Test func largeOutputIsDrainedAndCapped() throws {
        let script = """
            head -c 5000000 /dev/zero | tr '\\0' e >&2 &
            head -c 5000000 /dev/zero | tr '\\0' o
            wait
            echo END; echo END >&2
            """
        let result = try shell(script, timeout: .seconds(60), outputLimit: 65_536).run()

        #expect(result.exitCode == 0)
        #expect(!result.timedOut)
        #expect(result.stdoutTruncated && result.stderrTruncated)
        #expect(result.stdout.utf8.count == 65_536)
        #expect(result.stderr.utf8.count == 65_536)
        #expect(result.stdout.suffix(8) == "ooooEND\n")
        #expect(result.stderr.suffix(8) == "eeeeEND\n")
    }

    /// Secrets, URL credentials and token patterns in the output are masked before it is returned.
    @Test func outputIsScrubbed() throws {
        let scrubber = SecretScrubber(secrets: ["s3cr3t-t0ken"])
        let script = "echo token=s3cr3t-t0ken; echo fetch https://bot:pw123@example.com/x >&2; echo _authToken=zzz"

        let result = try shell(script, scrubber: scrubber).run()

        #expect(result.stdout == "token=****\n_authToken=****\n")
        #expect(result.stderr == "fetch https://****@example.com/x\n")
    }

    /// When truncation cuts a secret in two, the surviving end of it is masked too.
    @Test func truncationDoesNotExposeSecretFragments() throws {
        let scrubber = SecretScrubber(secrets: ["ABCDEFGHIJ"])

        let result = try shell("printf 0123456789ABCDEFGHIJxyz", outputLimit: 8, scrubber: scrubber).run()

        #expect(result.stdoutTruncated)
        #expect(result.stdout == "****xyz")
    }

    /// Many runs on many threads at once each get their own output and status.
    @Test func concurrentRunsStayApart() {
        let results = Mutex<[Int: String]>([:])

        DispatchQueue.concurrentPerform(iterations: 16) { index in
            let result = try? shell("echo run-\(index); exit \(index)").run()
            results.withLock { $0[index] = result.map { "\($0.stdout)|\($0.exitCode ?? -1)" } }
        }

        for index in 0..<16 {
            #expect(results.withLock { $0[index] } == "run-\(index)\n|\(index)")
        }
    }
}
