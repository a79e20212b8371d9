import Adapters
import Foundation
import Stores
import Synchronization
import Testing
@testable import Registry

/// A file of ../shared/data beside the repository (the real registry snapshots; never copied into the repo).
func sharedData(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/" + path).path
}

func sharedBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: sharedData(path))))
}

let realRegistryPath = "registry/generated-registry.next.json"
let realIndexPath = "registry/index.next.json"

/// The real 290-entry snapshot, parsed once for the tests that only read it.
let realSnapshot: RegistrySnapshot = {
    let document = try! RegistryDocumentParser().parse(try! sharedBytes(realRegistryPath))
    return RegistrySnapshot(catalog: RegistryCatalog(document: document), source: RegistrySource(url: "test:", fetchedAt: Date()))
}()

/// A fresh state database in a temporary directory.
func temporaryDatabase() throws -> (db: StateDB, path: String) {
    let directory = NSTemporaryDirectory() + "registry-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/state.db"
    return (try StateDB(path: path), path)
}

/// A clock a test can move.
final class TestClock: WallClock {
    private let current = Mutex(Date(timeIntervalSince1970: 1_750_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// The registry error a call threw, or nil when it returned.
func failure<T>(_ call: () throws -> T) -> RegistryError? {
    do {
        _ = try call()
        return nil
    } catch let error as RegistryError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}
