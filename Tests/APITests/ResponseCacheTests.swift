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

    /// A body over the limit is built again for a second request, then kept while asked for, and dropped once
    /// nobody has asked for it for `keepWhileAskedFor`; its ETag is the same throughout.
    @Test func bigBodyKeptWhileInDemand() throws {
        let cache = ResponseCache(maxKeptBody: 8, keepWhileAskedFor: .milliseconds(300))
        let builds = Locked(0)
        func ask(_ stamp: String = "s") -> ResponseCache.Entry {
            cache.body(for: stamp) {
                builds.withLock { $0 += 1 }
                return Array("a body over the limit".utf8)
            }
        }
        let first = ask()
        #expect(first.etag == HTTPResponse.etag(of: first.body))
        #expect(!cache.keepsBigBody)
        #expect(ask().etag == first.etag)
        #expect(builds.withLock { $0 } == 2)
        #expect(cache.keepsBigBody)
        for _ in 0..<5 { #expect(ask().body == first.body) }
        #expect(builds.withLock { $0 } == 2)
        // A new stamp takes its place on its own second request.
        _ = ask("t")
        _ = ask("t")
        #expect(builds.withLock { $0 } == 4)
        // Idle: dropped (looked for over up to ten seconds: the drop runs on a timer thread).
        var waited = 0
        while cache.keepsBigBody, waited < 100 {
            usleep(100_000)
            waited += 1
        }
        #expect(!cache.keepsBigBody)
        // A small body is kept from the first request, as before.
        let small = ResponseCache(maxKeptBody: 64)
        _ = small.body(for: "x") { builds.withLock { $0 += 1 }; return Array("small".utf8) }
        _ = small.body(for: "x") { builds.withLock { $0 += 1 }; return Array("small".utf8) }
        #expect(builds.withLock { $0 } == 5)
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
