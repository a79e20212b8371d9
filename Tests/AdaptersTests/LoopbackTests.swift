import Testing
@testable import Adapters

@Suite struct LoopbackTests {
    @Test(arguments: ["localhost", "LOCALHOST", "127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1", "[::ffff:127.1.1.1]"])
    func loopback(_ host: String) {
        #expect(Loopback.isLoopback(host: host))
    }

    /// Parsed as addresses, never matched as text.
    @Test(arguments: ["127.anything.example.com", "127.0.0.1.example.com", "127.evil", "128.0.0.1", "10.0.0.1", "::2", "::ffff:10.0.0.1",
                      "localhost.example.com", "", "0.0.0.0"])
    func notLoopback(_ host: String) {
        #expect(!Loopback.isLoopback(host: host))
    }

    @Test func urls() {
        #expect(Loopback.isLoopback(url: "http://127.0.0.1:8080/x"))
        #expect(!Loopback.isLoopback(url: "http://127.0.0.1.nip.example/x"))
        #expect(!Loopback.isLoopback(url: "not a url"))
    }
}
