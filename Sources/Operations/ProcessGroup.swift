import Foundation
import Glibc
import JSON

/// A child an operation started in its own process group: the group's id (the leader's pid) and the leader's start
/// time in clock ticks since boot, so a number the kernel has since given to an unrelated process is never signalled.
public struct ProcessGroup: Codable, Sendable, Equatable {
    public let pgid: Int32
    public let startTicks: UInt64

    public init(pgid: Int32, startTicks: UInt64) {
        self.pgid = pgid
        self.startTicks = startTicks
    }

    /// The group a just-started leader heads, read while it runs; nil when it is already gone.
    public static func led(by pid: Int32) -> ProcessGroup? {
        ProcStat.read(pid).map { ProcessGroup(pgid: pid, startTicks: $0.startTicks) }
    }

    /// How an operation's checkpoint records a group (`processGroups`): its start time as `start`, where the runner
    /// protocol (this type's own `Codable` form) says `startTicks`.
    struct Recorded: Encodable {
        let pgid: Int32
        let start: UInt64
    }

    var recorded: Recorded { Recorded(pgid: pgid, start: startTicks) }

    init?(json: JSONValue) {
        guard let pgid = json["pgid"]?.intValue, let start = json["start"]?.intValue, pgid > 1, start >= 0 else { return nil }
        self.init(pgid: Int32(pgid), startTicks: UInt64(start))
    }

    /// The groups an operation's checkpoint recorded.
    public static func recorded(in checkpoint: JSONValue?) -> [ProcessGroup] {
        checkpoint?["processGroups"]?.arrayValue?.compactMap(ProcessGroup.init(json:)) ?? []
    }

    /// The processes still in this group (owned by `uid` when given). Empty when the leader's number now belongs to
    /// another process: the group this record names has ended.
    public func members(ownedBy uid: uid_t? = nil) -> [Int32] {
        if let leader = ProcStat.read(pgid), leader.startTicks != startTicks { return [] }
        var found: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = ProcStat.read(pid), stat.pgid == pgid, stat.state != "Z" else { continue }
            if let uid, ProcStat.owner(pid) != uid { continue }
            found.append(pid)
        }
        return found
    }

    /// Kills what is left of the group and waits (up to `waitMs`) until none of it runs; answers whether it is gone.
    /// A member of another user is never signalled (`ownedBy`).
    @discardableResult
    public func end(ownedBy uid: uid_t? = nil, waitMs: Int = 5_000) -> Bool {
        var left = members(ownedBy: uid)
        guard !left.isEmpty else { return true }
        for pid in left { kill(pid, SIGKILL) }
        let deadline = ContinuousClock.now + .milliseconds(waitMs)
        while ContinuousClock.now < deadline {
            left = members(ownedBy: uid)
            if left.isEmpty { return true }
            for pid in left { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        return members(ownedBy: uid).isEmpty
    }
}

/// The fields of `/proc/<pid>/stat` plugind needs.
enum ProcStat {
    struct Fields {
        let state: Character
        let pgid: Int32
        let startTicks: UInt64
    }

    static func read(_ pid: Int32) -> Fields? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name sits in parentheses and may itself hold spaces or parentheses: fields start after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: state (3), ppid (4), pgrp (5), … starttime (22).
        guard fields.count > 19, let state = fields[0].first, let pgid = Int32(fields[2]), let start = UInt64(fields[19]) else { return nil }
        return Fields(state: state, pgid: pgid, startTicks: start)
    }

    static func owner(_ pid: Int32) -> uid_t? {
        var info = stat()
        return stat("/proc/\(pid)", &info) == 0 ? info.st_uid : nil
    }
}
