import Foundation
import Testing
@testable import Stores

@Suite struct TokenStoreTests {
    /// Run as root for a state directory plugind's own user owns (`plugind token create` beside a running plugind),
    /// the token file stays that user's, so plugind can still read it.
    @Test func rootKeepsTheStateDirectoryOwnersFile() throws {
        guard geteuid() == 0 else { return }
        let dir = NSTemporaryDirectory() + "tokens-owner-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chown(dir, 65534, 65534)
        _ = try TokenStore(path: dir + "/tokens.json").create(role: .admin)
        var info = stat()
        stat(dir + "/tokens.json", &info)
        #expect(info.st_uid == 65534 && info.st_mode & 0o777 == 0o600)
    }

    /// Tokens verify to their role; the file holds only hashes, mode 0600.
    @Test func createAndVerify() throws {
        let dir = temporaryDirectory()
        let store = TokenStore(path: dir + "/tokens.json")
        let admin = try store.create(role: .admin)
        let read = try store.create(role: .read)
        #expect(admin.hasPrefix("pld_") && admin.count > 40)
        #expect(store.role(of: admin) == .admin)
        #expect(store.role(of: read) == .read)
        #expect(store.role(of: admin + "x") == nil)
        #expect(store.role(of: "pld_") == nil)
        #expect(store.role(of: "") == nil)
        let text = try #require(fileText(dir + "/tokens.json"))
        #expect(!text.contains(admin) && !text.contains(String(admin.dropFirst(4))))
        var info = stat()
        stat(dir + "/tokens.json", &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    /// Rotating a role revokes its old tokens at once (another store instance sees it), and leaves the other role alone.
    @Test func rotation() throws {
        let dir = temporaryDirectory()
        let serving = TokenStore(path: dir + "/tokens.json")
        let old = try serving.create(role: .admin)
        let read = try serving.create(role: .read)
        #expect(serving.role(of: old) == .admin)
        let fresh = try TokenStore(path: dir + "/tokens.json").create(role: .admin, replacing: true)
        #expect(serving.role(of: old) == nil)
        #expect(serving.role(of: fresh) == .admin)
        #expect(serving.role(of: read) == .read)
    }

    /// Equal-length comparison looks at every byte.
    @Test func constantTimeEquality() {
        #expect(TokenStore.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!TokenStore.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!TokenStore.constantTimeEqual([1, 2, 3], [1, 2]))
    }
}

@Suite struct TokenFileTests {
    /// The token file, byte for byte: the role and hash of each token, in the order they were created.
    @Test func fileBytes() throws {
        let dir = temporaryDirectory()
        let store = TokenStore(path: dir + "/tokens.json")
        let admin = TokenStore.hex(TokenStore.hash(try store.create(role: .admin)))
        let read = TokenStore.hex(TokenStore.hash(try store.create(role: .read)))
        #expect(fileText(dir + "/tokens.json") == """
            {
              "tokens": [
                {
                  "role": "admin",
                  "sha256": "\(admin)"
                },
                {
                  "role": "read",
                  "sha256": "\(read)"
                }
              ]
            }

            """)
    }
}
