import Glibc

/// Why a `ChildProcess` could not be run at all (a child that runs and fails is a `ChildResult`).
public enum ChildProcessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No executable file of that name was found in the environment's PATH.
    case executableNotFound(name: String)
    /// posix_spawn refused to start the executable, with its errno.
    case spawnFailed(executable: String, errno: Int32)
    /// A system call needed to set up the run failed, with its errno.
    case systemCallFailed(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .executableNotFound(let name):
            return "executable not found: \(name)"
        case .spawnFailed(let executable, let code):
            return "cannot start \(executable): " + String(cString: strerror(code))
        case .systemCallFailed(let call, let code):
            return "\(call) failed: " + String(cString: strerror(code))
        }
    }
}
