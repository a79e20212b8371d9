import Adapters
import Foundation
import Glibc
import Operations

/// plugind ↔ `plugind runner`, over a unix socket: one job per connection. plugind writes one JSON line (a
/// `RunnerRequest`); the runner answers with JSON lines, progress and log lines first (installTree), then one
/// with `done` or `error`. A connection plugind closes early is a job it no longer waits for.
public struct RunnerRequest: Codable, Sendable {
    public enum Job: String, Codable, Sendable {
        case installTree, run, makeDirectory, move, remove, write, grantRead, list, read, endGroups
    }

    public var job: Job
    public var settings: InstallerSettings?
    public var tree: TreeRequest?
    public var timeLeftMs: Int?
    public var tool: Tool?
    public var arguments: [String]?
    public var directory: String?
    public var timeoutMs: Int?
    public var path: String?
    public var to: String?
    public var mode: UInt16?
    public var data: Data?
    public var groups: [ProcessGroup]?

    init(job: Job) {
        self.job = job
    }
}

public struct RunnerReply: Codable, Sendable {
    public var phase: String?
    public var progress: Double?
    public var log: String?
    public var done: Bool?
    public var tree: TreeSummary?
    public var result: ToolResult?
    public var names: [String]?
    public var data: Data?
    public var error: RunnerFailure?
    /// A child the job started (its process group), reported at once so plugind's operation can record it.
    public var started: Int32?

    public init() {}
}

/// An error crossing the socket: which kind, its message, and a refused dependency's path and spec.
public struct RunnerFailure: Codable, Sendable, Error {
    public let kind: String
    public let message: String
    public let path: [String]?
    public let spec: String?

    public init(_ error: any Error) {
        switch error {
        case let error as InstallError:
            switch error {
            case .badRequest(let m): (kind, message, path, spec) = ("badRequest", m, nil, nil)
            case .notFound(let m): (kind, message, path, spec) = ("notFound", m, nil, nil)
            case .unlisted(let m): (kind, message, path, spec) = ("unlisted", m, nil, nil)
            case .noRegistrySnapshot(let m): (kind, message, path, spec) = ("noRegistrySnapshot", m, nil, nil)
            case .refused(let m): (kind, message, path, spec) = ("refused", m, nil, nil)
            case .dependencyRefused(let m, let p, let s): (kind, message, path, spec) = ("dependencyRefused", m, p, s)
            case .conflict(let m), .unlessForced(let m, _): (kind, message, path, spec) = ("conflict", m, nil, nil)
            case .upstream(let m): (kind, message, path, spec) = ("upstream", m, nil, nil)
            case .timedOut(let m): (kind, message, path, spec) = ("timedOut", m, nil, nil)
            case .noSpace(let m): (kind, message, path, spec) = ("noSpace", m, nil, nil)
            }
        case let error as OperationError:
            if case .deadlineExceeded(let step) = error {
                (kind, message, path, spec) = ("deadline", step, nil, nil)
            } else {
                (kind, message, path, spec) = ("upstream", error.description, nil, nil)
            }
        case let error as RunnerFailure:
            self = error
        default:
            (kind, message, path, spec) = ("upstream", String(describing: error), nil, nil)
        }
    }

    /// The error as plugind's services throw it.
    public var error: any Error {
        switch kind {
        case "badRequest": InstallError.badRequest(message)
        case "notFound": InstallError.notFound(message)
        case "unlisted": InstallError.unlisted(message)
        case "noRegistrySnapshot": InstallError.noRegistrySnapshot(message)
        case "refused": InstallError.refused(message)
        case "dependencyRefused": InstallError.dependencyRefused(message, path: path ?? [], spec: spec)
        case "conflict": InstallError.conflict(message)
        case "timedOut": InstallError.timedOut(message)
        case "noSpace": InstallError.noSpace(message)
        case "deadline": OperationError.deadlineExceeded(step: message)
        default: InstallError.upstream(message)
        }
    }
}

/// The installer as a client of `plugind runner`: every job goes over the runner's socket.
public struct RunnerClient: Installer {
    let socket: String
    let settings: InstallerSettings

    public init(socket: String, settings: InstallerSettings) {
        self.socket = socket
        self.settings = settings
    }

    public func installTree(_ request: TreeRequest, known: [String: Packument], progress: any TreeProgress) throws -> TreeSummary {
        var job = RunnerRequest(job: .installTree)
        job.settings = settings
        job.tree = request
        job.timeLeftMs = progress.stepTimeoutMs(.max)
        let reply = try send(job, progress: progress)
        guard let tree = reply.tree else { throw InstallError.upstream("plugind runner answered an install without its summary.") }
        return tree
    }

    public func run(_ tool: Tool, _ arguments: [String], in directory: String?, timeoutMs: Int, onSpawn: (@Sendable (pid_t) -> Void)?) throws -> ToolResult {
        var job = RunnerRequest(job: .run)
        job.settings = settings
        job.tool = tool
        job.arguments = arguments
        job.directory = directory
        job.timeoutMs = timeoutMs
        guard let result = try send(job, progress: nil, onSpawn: onSpawn).result else { throw InstallError.upstream("plugind runner answered a run without its result.") }
        return result
    }

    public func endGroups(_ groups: [ProcessGroup]) throws {
        var job = RunnerRequest(job: .endGroups)
        job.groups = groups
        _ = try send(job, progress: nil)
    }

    public func makeDirectory(_ path: String, mode: UInt16) throws {
        var job = RunnerRequest(job: .makeDirectory)
        job.path = path
        job.mode = mode
        _ = try send(job, progress: nil)
    }

    public func move(_ from: String, to: String) throws {
        var job = RunnerRequest(job: .move)
        job.path = from
        job.to = to
        _ = try send(job, progress: nil)
    }

    public func remove(_ path: String) throws {
        var job = RunnerRequest(job: .remove)
        job.path = path
        _ = try send(job, progress: nil)
    }

    public func write(_ bytes: [UInt8], to path: String) throws {
        var job = RunnerRequest(job: .write)
        job.path = path
        job.data = Data(bytes)
        _ = try send(job, progress: nil)
    }

    public func grantRead(_ path: String) throws {
        var job = RunnerRequest(job: .grantRead)
        job.path = path
        _ = try send(job, progress: nil)
    }

    public func list(_ path: String) throws -> [String] {
        var job = RunnerRequest(job: .list)
        job.path = path
        return try send(job, progress: nil).names ?? []
    }

    public func read(_ path: String) throws -> [UInt8]? {
        var job = RunnerRequest(job: .read)
        job.path = path
        return try send(job, progress: nil).data.map(Array.init)
    }

    /// One connection: the request line out, reply lines in until `done` or `error`.
    private func send(_ job: RunnerRequest, progress: (any TreeProgress)?, onSpawn: (@Sendable (pid_t) -> Void)? = nil) throws -> RunnerReply {
        let fd = try RunnerSocket.connect(socket)
        defer { close(fd) }
        var line = try JSONEncoder().encode(job)
        line.append(0x0A)
        try RunnerSocket.writeAll(fd, line)
        var reader = RunnerSocket.LineReader(fd: fd)
        while let text = try reader.next() {
            let reply = try JSONDecoder().decode(RunnerReply.self, from: text)
            if let failure = reply.error { throw failure.error }
            if reply.done == true { return reply }
            if let phase = reply.phase { progress?.phase(phase, progress: reply.progress) }
            if let log = reply.log { progress?.log(log) }
            if let started = reply.started {
                progress?.childStarted(started)
                onSpawn?(started)
            }
        }
        throw InstallError.upstream("plugind runner closed the connection before the job ended; its log says why.")
    }
}

/// Blocking unix-socket helpers for the runner's protocol.
public enum RunnerSocket {
    public static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw InstallError.upstream("Cannot create a socket to reach plugind runner.") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw InstallError.upstream("The installerSocket path is too long for a unix socket.")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw InstallError.upstream("plugind runner is not reachable at \(path) (\(reason)); start it, or check the setting installerSocket.")
        }
        return fd
    }

    public static func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw InstallError.upstream("Writing to plugind runner failed: \(String(cString: strerror(errno))).")
                }
                offset += n
            }
        }
    }

    /// Reads newline-terminated lines; a line over 64 MiB is an error.
    public struct LineReader {
        let fd: Int32
        var buffer = Data()

        public init(fd: Int32) {
            self.fd = fd
        }

        public mutating func next() throws -> Data? {
            while true {
                if let newline = buffer.firstIndex(of: 0x0A) {
                    let line = buffer[buffer.startIndex..<newline]
                    buffer = Data(buffer[(newline + 1)...])
                    return Data(line)
                }
                guard buffer.count < 64 << 20 else { throw InstallError.upstream("A line from the runner's socket is too long.") }
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw InstallError.upstream("Reading from the runner's socket failed: \(String(cString: strerror(errno))).")
                }
                if n == 0 { return buffer.isEmpty ? nil : { let rest = buffer; buffer = Data(); return rest }() }
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }
}
