import Glibc

/// A value read by every request and changed seldom, behind a reader-writer lock: readers never wait for each
/// other. With a mutex, a worker preempted while it held the lock for a dictionary look-up made every other worker
/// asking the same thing wait out its time slice; on two cores shared with nginx, that wait was a visible part of
/// the slowest requests. Writers are preferred, so a steady stream of readers cannot hold a change back.
///
/// `read` and `write` are inlinable, as `Locked.withLock` is, so callers get them specialised for their types.
public final class ReadMostly<Value>: @unchecked Sendable {
    @usableFromInline let lock: UnsafeMutablePointer<pthread_rwlock_t>
    @usableFromInline var value: Value

    public init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    @inlinable
    public func read<T>(_ body: (Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    @inlinable
    public func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
