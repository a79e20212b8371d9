import Testing
@testable import Eject

/// Which repository a package's own `repository` field may send eject to.
@Suite struct RepositoryURLTests {
    func url(_ repository: String, base: String = "https://github.com/") -> String? {
        EjectService.repositoryURL(source: nil, packageRepository: repository, gitBaseUrl: base)
    }

    @Test func registrySourcesAndShorthandsResolveAgainstTheBase() {
        #expect(EjectService.repositoryURL(source: PluginSource(gitRepo: "o/r", branch: nil, directory: nil), packageRepository: nil,
                                           gitBaseUrl: "https://github.com/") == "https://github.com/o/r")
        #expect(url("github:o/r") == "https://github.com/o/r")
        #expect(url("o/r") == "https://github.com/o/r")
        #expect(url("git+https://git.example.org/o/r.git") == "https://git.example.org/o/r.git")
    }

    /// Plain http only to an address that is loopback once parsed: a host that merely starts with `127.` is a
    /// name anyone can register, and is refused (issue 16).
    @Test(arguments: ["http://127.0.0.1/r.git", "http://127.1.2.3:8080/r.git", "http://localhost/r.git", "http://[::1]:9/r.git"])
    func loopbackHTTPIsAccepted(_ repository: String) {
        #expect(url(repository) == repository)
    }

    @Test(arguments: ["http://127.anything.example.com/r.git", "http://127.0.0.1.example.com/r.git", "http://127.evil/r.git",
                      "http://example.com/r.git", "http://10.0.0.1/r.git", "ssh://git@example.com/r.git", "file:///etc/r.git"])
    func otherHTTPAndSchemesAreRefused(_ repository: String) {
        #expect(url(repository) == nil)
    }

    @Test func fileIsAcceptedOnlyWhenTheBaseIsLocal() {
        #expect(url("file:///srv/git/r.git", base: "file:///srv/git/") == "file:///srv/git/r.git")
    }

    /// A catalogue entry's own repository: https always; file:// (or an absolute path) only with allowLocalRepositories,
    /// the development stack's allowance for its example plugins; anything else never.
    @Test func catalogueRepositoriesFollowTheLocalAllowance() {
        func named(_ url: String, allowLocal: Bool) -> String? {
            EjectService.repositoryURL(
                source: PluginSource(gitRepo: nil, branch: nil, directory: nil, url: url), packageRepository: "https://elsewhere.example/r.git",
                gitBaseUrl: "https://github.com/", allowLocal: allowLocal)
        }
        #expect(named("https://git.example.org/o/r.git", allowLocal: false) == "https://git.example.org/o/r.git")
        #expect(named("file:///srv/examples/r", allowLocal: false) == nil)
        #expect(named("file:///srv/examples/r", allowLocal: true) == "file:///srv/examples/r")
        #expect(named("/srv/examples/r", allowLocal: true) == "file:///srv/examples/r")
        #expect(named("/srv/examples/r", allowLocal: false) == nil)
        #expect(named("http://example.com/r.git", allowLocal: true) == nil)
        #expect(named("ssh://git@example.com/r.git", allowLocal: true) == nil)
    }
}
