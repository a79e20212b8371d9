/// How a `ChildProcess` run ended, with its (scrubbed, tail-capped) output.
public struct ChildResult: Sendable {
    /// The exit status when the child exited normally, else nil.
    public var exitCode: Int32?
    /// The signal that ended the child, else nil.
    public var signal: Int32?
    /// Whether the run hit its timeout and its process group was terminated.
    public var timedOut: Bool
    /// Standard output (with standard error interleaved in `.combined` mode), secrets masked.
    public var stdout: String
    /// Standard error in `.separate` mode, secrets masked; empty in `.combined` mode.
    public var stderr: String
    /// Whether `stdout` lost its beginning to the output limit.
    public var stdoutTruncated: Bool
    /// Whether `stderr` lost its beginning to the output limit.
    public var stderrTruncated: Bool
    /// Wall-clock time from spawn to reaping.
    public var duration: Duration

    public init(
        exitCode: Int32?, signal: Int32?, timedOut: Bool, stdout: String, stderr: String,
        stdoutTruncated: Bool = false, stderrTruncated: Bool = false, duration: Duration
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.duration = duration
    }

    /// Whether the child exited with status 0 within its time.
    public var succeeded: Bool {
        exitCode == 0 && !timedOut
    }
}
