import Foundation
import HTTPKit
import Locking
import Testing

@testable import API

@Suite struct ResponseCacheTests {
    struct BuildFailed: Error {}

    /// Runs `body` on `count` OS threads at once and waits for all of them.
    func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchSemaphore(value: 0)
        for index in 0..<count {
            Thread {
                body(index)
                done.signal()
            }.start()
        }
        for _ in 0..<count { done.wait() }
    }

    /// Eight requests that miss at once get the same body, built once; the ETag is the body's.
    @Test func oneBuilderPerStamp() {
        let cache = ResponseCache()
        let builds = Locked(0)
        let answers = Locked<[[UInt8]]>([])
        onThreads(8) { _ in
            let entry = cache.body(for: "stamp-1") {
                builds.withLock { $0 += 1 }
                usleep(200_000)
                return Array("the answer".utf8)
            }
            #expect(entry.etag == HTTPResponse.etag(of: entry.body))
            answers.withLock { $0.append(entry.body) }
        }
        #expect(builds.withLock { $0 } == 1)
        #expect(answers.withLock { $0 } == Array(repeating: Array("the answer".utf8), count: 8))
        // A new stamp is a new answer.
        #expect(cache.body(for: "stamp-2") { Array("new".utf8) }.body == Array("new".utf8))
    }

    /// A failed build hands its error to its own request only; the next request builds again.
    @Test func aFailedBuildIsRetried() throws {
        let cache = ResponseCache()
        let builds = Locked(0)
        let failures = Locked(0)
        onThreads(4) { _ in
            do {
                _ = try cache.body(for: "s") {
                    let attempt = builds.withLock { count -> Int in
                        count += 1
                        return count
                    }
                    usleep(100_000)
                    if attempt == 1 { throw BuildFailed() }
                    return Array("ok".utf8)
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 1)
        #expect(builds.withLock { $0 } == 2)
        #expect(try cache.body(for: "s") { throw BuildFailed() }.body == Array("ok".utf8))
    }
}
