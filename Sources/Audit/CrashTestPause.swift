import Foundation

/// A crash-test hook: with `PLUGIND_TEST_PAUSE=audit-after-intent` (or `audit-after-write`) in its environment,
/// plugind stops at that point of its first audited agent-config write, writes `<stateDir>/paused-<point>` and waits
/// there for ever, so a test can SIGKILL it exactly between the intent and the write, or between the write and the
/// entry's completion. Unset (always, outside tests) it costs one comparison.
public struct CrashTestPause: Sendable {
    public enum Point: String, Sendable {
        case afterIntent = "audit-after-intent"
        case afterWrite = "audit-after-write"
    }

    let point: Point?
    let directory: String

    public init(environment: [String: String], directory: String) {
        self.point = environment["PLUGIND_TEST_PAUSE"].flatMap(Point.init(rawValue:))
        self.directory = directory
    }

    func at(_ here: Point) {
        guard here == point else { return }
        FileManager.default.createFile(atPath: directory + "/paused-" + here.rawValue, contents: Data())
        while true { sleep(3600) }
    }
}
