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
    /// A token file from before ids: each token gets an id derived from its hash, the same at every read and kept
    /// when the file is next written; a presented token tells its id, role and label.
    @Test func idsForOldTokensAndIdentity() throws {
        let dir = temporaryDirectory()
        let token = "pld_" + String(repeating: "a", count: 43)
        let hash = TokenStore.hex(TokenStore.hash(token))
        try #"{"tokens": [{"role": "admin", "sha256": "\#(hash)"}]}"#.write(toFile: dir + "/tokens.json", atomically: true, encoding: .utf8)
        let store = TokenStore(path: dir + "/tokens.json")
        let id = try #require(store.identity(of: token)?.id)
        #expect(TokenStore.isId(id) && !hash.contains(id.dropFirst(4)))
        #expect(TokenStore(path: dir + "/tokens.json").identity(of: token) == .init(id: id, role: .admin, label: nil))
        let second = try store.create(role: .read, label: "dashboard")
        #expect(try store.list().map(\.id).first == id)
        #expect(store.identity(of: second)?.label == "dashboard" && store.identity(of: second)?.role == .read)
    }

    /// Labels are short printable text; anything else is refused and nothing is written.
    @Test func labels() throws {
        for good in ["ci", "Deploy bot (prod)", "éèà 日本", String(repeating: "x", count: 64)] { #expect(TokenStore.labelProblem(good) == nil, "\(good)") }
        for bad in ["", " lead", "trail ", "tab\there", "line\nbreak", "nul\u{0}", "bidi\u{202E}", String(repeating: "x", count: 65)] {
            #expect(TokenStore.labelProblem(bad) != nil, "\(bad)")
        }
        let dir = temporaryDirectory()
        #expect(throws: TokenLabelError.self) { try TokenStore(path: dir + "/tokens.json").create(role: .admin, label: "a\nb") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/tokens.json"))
    }

    /// The token file, byte for byte: the id, role, label (when given) and hash of each token, in the order they were
    /// created.
    @Test func fileBytes() throws {
        let dir = temporaryDirectory()
        let store = TokenStore(path: dir + "/tokens.json")
        let admin = TokenStore.hex(TokenStore.hash(try store.create(role: .admin, label: "ci")))
        let read = TokenStore.hex(TokenStore.hash(try store.create(role: .read)))
        let ids = try store.list().map(\.id)
        #expect(ids.count == 2 && ids.allSatisfy(TokenStore.isId) && ids[0] != ids[1])
        #expect(fileText(dir + "/tokens.json") == """
            {
              "tokens": [
                {
                  "id": "\(ids[0])",
                  "role": "admin",
                  "label": "ci",
                  "sha256": "\(admin)"
                },
                {
                  "id": "\(ids[1])",
                  "role": "read",
                  "sha256": "\(read)"
                }
              ]
            }

            """)
    }
}
