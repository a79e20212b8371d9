import Glibc

/// A value behind a plain pthread mutex. Waiters sleep in the kernel instead of spinning, which is what a pool of
/// worker threads on two cores wants. (The standard library's `Mutex` spins before it sleeps: built on it, the health
/// route cost 2.5 times the CPU per request in `scripts/bench --against`; docs/performance.md.) A value every request
/// reads and few change is better behind `ReadMostly`.
///
/// `withLock` is inlinable, so callers in other modules get it specialised for their types instead of going through
/// generic value witnesses on every call.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
