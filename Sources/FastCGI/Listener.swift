import Glibc

/// Where the responder's listening socket comes from.
public enum ListenSource: Sendable, Equatable {
    /// A unix socket path that plugind creates, chmods, optionally chgrps, and unlinks on exit.
    case path(String, mode: mode_t, group: String?)
    /// systemd socket activation (`LISTEN_FDS`/`LISTEN_PID`, fd 3).
    case systemd
    /// Classic FastCGI spawning (`spawn-fcgi -n`): the listening socket is fd 0.
    case standardInput

    /// Inherited sockets win over the configured path, as a spawner or systemd expects.
    public static func detect(configuredPath: String, mode: mode_t, group: String?) -> ListenSource {
        let env = ProcessInfoLite.environment
        if let pid = env["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = env["LISTEN_FDS"].flatMap(Int.init), count >= 1
        {
            return .systemd
        }
        if isListeningSocket(0) { return .standardInput }
        return .path(configuredPath, mode: mode, group: group)
    }

    static func isListeningSocket(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting == 1
    }
}

/// Why the listening socket could not be had.
public struct ListenError: Error, CustomStringConvertible {
    public let description: String
}

/// An open listening socket and how to reach it again (to wake workers at shutdown).
struct Listener: Sendable {
    let fd: Int32
    /// Set when plugind created the socket file and must remove it on exit.
    let createdPath: String?
    /// The socket's own address, read once when it is opened: where `connectToSelf` connects, and its family.
    let address: (storage: sockaddr_storage, length: socklen_t)?

    init(fd: Int32, createdPath: String?) {
        self.fd = fd
        self.createdPath = createdPath
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.address = named == 0 ? (storage, length) : nil
    }

    /// A TCP socket (a socket unit with `ListenStream=127.0.0.1:9000`): its connections get `TCP_NODELAY`.
    var isTCP: Bool {
        guard let family = address.map({ Int32($0.storage.ss_family) }) else { return false }
        return family == AF_INET || family == AF_INET6
    }

    static func open(_ source: ListenSource) throws -> Listener {
        switch source {
        case .systemd:
            // Children (npm, git, the agent) must not think the socket is theirs.
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
            return Listener(fd: 3, createdPath: nil)
        case .standardInput:
            return Listener(fd: 0, createdPath: nil)
        case .path(let path, let mode, let group):
            return try createUnixSocket(path: path, mode: mode, group: group)
        }
    }

    private static func createUnixSocket(path: String, mode: mode_t, group: String?) throws -> Listener {
        var address = try unixAddress(path)
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw ListenError(description: "\(path) exists and is not a socket; refusing to replace it.")
            }
            if canConnect(&address) {
                throw ListenError(description: "another process is already listening on \(path).")
            }
            unlink(path)  // stale socket from a process that died
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(description: "socket(): \(errnoText())") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = errnoText()
            close(fd)
            throw ListenError(description: "cannot bind \(path): \(reason)")
        }
        if let group {
            guard let entry = getgrnam(group) else {
                close(fd); unlink(path)
                throw ListenError(description: "socket group '\(group)' does not exist.")
            }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                let reason = errnoText()
                close(fd); unlink(path)
                throw ListenError(description: "cannot give \(path) to group '\(group)': \(reason)")
            }
        }
        guard chmod(path, mode) == 0, listen(fd, 1024) == 0 else {
            let reason = errnoText()
            close(fd); unlink(path)
            throw ListenError(description: "cannot listen on \(path): \(reason)")
        }
        return Listener(fd: fd, createdPath: path)
    }

    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw ListenError(description: "socket path '\(path)' is empty or longer than \(capacity - 1) bytes.")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return address
    }

    private static func canConnect(_ address: inout sockaddr_un) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    /// Connects to this listener's own address, whatever its family (used to wake a blocked worker).
    func connectToSelf() -> Int32? {
        guard let address else { return nil }
        var (storage, length) = (address.storage, address.length)
        let family = Int32(storage.ss_family)
        if family == AF_INET {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    if $0.pointee.sin_addr.s_addr == 0 { $0.pointee.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian }
                }
            }
        }
        let client = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard client >= 0 else { return nil }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
        }
        guard connected == 0 else {
            close(client)
            return nil
        }
        return client
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// The environment without Foundation's ProcessInfo caching (systemd variables are unset at start).
enum ProcessInfoLite {
    static var environment: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}
