import Synchronization

/// A value behind plugind's one kind of lock, the standard library's `Mutex`, in a class so that structs and
/// closures can share it. (On Linux the mutex waits in the kernel — a futex — rather than spinning, which is what a
/// pool of worker threads on two cores wants on its per-request paths.)
///
/// `withLock` is inlinable, so callers in other modules get it specialised for their types.
public final class Locked<Value: Sendable>: Sendable {
    @usableFromInline let mutex: Mutex<Value>

    public init(_ value: consuming Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with the value, the lock held. The value and the result stay with the caller's thread: a `Locked`
    /// is shared only as a whole.
    @inlinable
    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        nonisolated(unsafe) var result: T?
        try mutex.withLock { (value: inout sending Value) throws(E) -> Void in
            result = try body(&value)
        }
        return result!
    }
}
