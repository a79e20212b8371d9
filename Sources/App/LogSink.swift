import Foundation
import Glibc

/// Where every log line goes: a buffer in memory, written to stderr by one thread in batches.
///
/// A request line per request was one write(2) per request from sixteen workers into the same file
/// (or journald's socket), about a sixth of what a cheap request costs. Now lines of info level and
/// below wait at most `delay` in memory; warnings and errors are written at once, together with
/// everything before them, so order is kept. `flush()` writes what is pending (at exit too).
public final class LogSink: @unchecked Sendable {
    public static let standardError = LogSink(fd: 2)

    private let fd: Int32
    private let delay: useconds_t = 5_000
    /// Past this, the line's own thread writes instead of waiting for the writer.
    private let limit = 256 << 10
    private var pending: [UInt8] = []
    private var writerStarted = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Serialises the write(2)s themselves, so batches reach the file in the order they were taken.
    private let writing = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    private init(fd: Int32) {
        self.fd = fd
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(writing, nil)
        pthread_cond_init(wake, nil)
        pending.reserveCapacity(64 << 10)
        atexit { LogSink.standardError.flush() }
    }

    /// Queues one finished line (newline included); `urgent` writes it and everything before it now.
    func emit(_ line: [UInt8], urgent: Bool) {
        pthread_mutex_lock(mutex)
        pending.append(contentsOf: line)
        if urgent || pending.count > limit {
            writeLocked()
            return
        }
        if !writerStarted {
            writerStarted = true
            let thread = Thread { [self] in self.runWriter() }
            thread.name = "log-writer"
            thread.start()
        }
        if pending.count == line.count { pthread_cond_signal(wake) }
        pthread_mutex_unlock(mutex)
    }

    /// Writes everything pending before returning.
    public func flush() {
        pthread_mutex_lock(mutex)
        writeLocked()
    }

    /// Takes the pending bytes, releases `mutex`, writes them.
    private func writeLocked() {
        var batch: [UInt8] = []
        batch.reserveCapacity(64 << 10)
        swap(&batch, &pending)
        pthread_mutex_lock(writing)
        pthread_mutex_unlock(mutex)
        defer { pthread_mutex_unlock(writing) }
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

    private func runWriter() {
        while true {
            pthread_mutex_lock(mutex)
            while pending.isEmpty { pthread_cond_wait(wake, mutex) }
            pthread_mutex_unlock(mutex)
            // Let the lines of the next few milliseconds join this batch.
            usleep(delay)
            flush()
        }
    }
}
