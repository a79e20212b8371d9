import Foundation
import Glibc
import Locking

/// Where every log line goes: a buffer in memory, written to stderr by one thread in batches.
///
/// A request line per request was one write(2) per request from sixteen workers into the same file
/// (or journald's socket), about a sixth of what a cheap request costs. Now lines of info level and
/// below wait at most `delay` in memory; warnings and errors are written at once, together with
/// everything before them, so order is kept. `flush()` writes what is pending (at exit too).
public final class LogSink: Sendable {
    public static let standardError = LogSink(fd: 2)

    private let fd: Int32
    private let delay: useconds_t = 5_000
    /// Past this, the line's own thread writes instead of waiting for the writer.
    private let limit = 256 << 10
    private let pending = Locked<(bytes: [UInt8], writerStarted: Bool)>(([], false))
    /// Wakes the writer when the first line of a batch arrives.
    private let wake = DispatchSemaphore(value: 0)
    /// Serialises the write(2)s themselves: a batch is taken and written under it, so batches reach the file in the
    /// order they were taken.
    private let writing = Locked(())

    private init(fd: Int32) {
        self.fd = fd
        pending.withLock { $0.bytes.reserveCapacity(64 << 10) }
        atexit { LogSink.standardError.flush() }
    }

    /// Queues one finished line (newline included); `urgent` writes it and everything before it now.
    func emit(_ line: [UInt8], urgent: Bool) {
        let (writeNow, startWriter, first) = pending.withLock { state -> (Bool, Bool, Bool) in
            state.bytes.append(contentsOf: line)
            if urgent || state.bytes.count > limit { return (true, false, false) }
            let start = !state.writerStarted
            state.writerStarted = true
            return (false, start, state.bytes.count == line.count)
        }
        if writeNow { return flush() }
        if startWriter {
            let thread = Thread { [self] in self.runWriter() }
            thread.name = "log-writer"
            thread.start()
        }
        if first { wake.signal() }
    }

    /// Writes everything pending before returning.
    public func flush() {
        writing.withLock { _ in
            var batch: [UInt8] = []
            batch.reserveCapacity(64 << 10)
            pending.withLock { swap(&batch, &$0.bytes) }
            var offset = 0
            batch.withUnsafeBytes { bytes in
                while offset < bytes.count {
                    let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }  // stderr gone: nothing better to do with a log line
                    offset += n
                }
            }
        }
    }

    private func runWriter() {
        while true {
            wake.wait()
            // Let the lines of the next few milliseconds join this batch.
            usleep(delay)
            flush()
        }
    }
}
