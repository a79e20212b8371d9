import CCurl
import Glibc

/// The pipe ends a run owns; whatever is still open when it ends gets closed.
struct OwnedDescriptors {
    private var descriptors: Set<Int32> = []

    /// A close-on-exec pipe whose ends are numbered 3 or above, so dup2 onto 0–2 in the child never collides.
    mutating func makePipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard plugind_pipe_cloexec(&fds) == 0 else { throw .systemCallFailed(call: "pipe2", errno: errno) }
        for index in fds.indices where fds[index] < 3 {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, 3)
            let code = errno
            Glibc.close(fds[index])
            fds[index] = moved
            guard moved >= 0 else {
                fds.filter { $0 >= 0 }.forEach { _ = Glibc.close($0) }
                throw .systemCallFailed(call: "fcntl", errno: code)
            }
        }
        descriptors.formUnion(fds)
        return (fds[0], fds[1])
    }

    mutating func close(_ fd: Int32) {
        if descriptors.remove(fd) != nil { _ = Glibc.close(fd) }
    }

    mutating func closeAll() {
        for fd in descriptors { _ = Glibc.close(fd) }
        descriptors = []
    }
}

/// A NULL-terminated array of C strings for argv and envp.
struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointers[index] = strdup(string)
        }
        pointers[strings.count] = nil
    }

    func free() {
        var index = 0
        while let string = pointers[index] {
            Glibc.free(string)
            index += 1
        }
        pointers.deallocate()
    }
}

/// Blocks SIGPIPE on this thread while writing to a child's stdin, then discards any SIGPIPE those writes raised.
struct SIGPIPEGuard {
    private var previousMask = sigset_t()

    init() {
        var block = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &block, &previousMask)
    }

    func restore() {
        var previous = previousMask
        // If SIGPIPE was already blocked, a pending one is not ours to discard.
        guard sigismember(&previous, SIGPIPE) == 0 else { return }
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var noWait = timespec()
            _ = sigtimedwait(&pipeOnly, nil, &noWait)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
