import Adapters
import Testing

@Suite("SecretScrubber")
struct SecretScrubberTests {
    /// Every occurrence of every known secret is masked, and the longer of two overlapping secrets wins.
    @Test func masksKnownSecrets() {
        let scrubber = SecretScrubber(secrets: ["tok_12345", "tok_12345_long", "pässwörd"])

        let scrubbed = scrubber.scrub("a=tok_12345 b=tok_12345_long c=tok_12345! d=pässwörd")

        #expect(scrubbed == "a=**** b=**** c=****! d=****")
    }

    /// Secrets shorter than four characters are ignored, so short values cannot shred ordinary text.
    @Test func ignoresShortSecrets() {
        let scrubber = SecretScrubber(secrets: ["a", "ab", "abc", ""])

        #expect(scrubber.scrub("abc abcd cab") == "abc abcd cab")
        #expect(scrubber.secrets.isEmpty)
    }

    /// `adding` keeps the old secrets and masks the new ones.
    @Test func addingExtendsTheSet() {
        let scrubber = SecretScrubber(secrets: ["first-secret"]).adding(["second-secret"])

        #expect(scrubber.scrub("first-secret second-secret") == "**** ****")
    }

    /// URL credentials are masked whether they are user:password or a token alone; '@' in a path is left alone.
    @Test(arguments: [
        ("clone https://user:p%40ss@github.com/o/r.git now", "clone https://****@github.com/o/r.git now"),
        ("https://ghp_abcdef@github.com/o/r", "https://****@github.com/o/r"),
        ("\"http://a:b@127.0.0.1:8080/x\"", "\"http://****@127.0.0.1:8080/x\""),
        ("git+ssh://git:secret@host:22/repo and ftp://x:y@z", "git+ssh://****@host:22/repo and ftp://****@z"),
        ("https://registry.npmjs.org/@scope/pkg", "https://registry.npmjs.org/@scope/pkg"),
        ("https://host/path?q=a@b", "https://host/path?q=a@b"),
        ("plain text with user@example.com", "plain text with user@example.com"),
    ])
    func masksURLCredentials(input: String, expected: String) {
        #expect(SecretScrubber().scrub(input) == expected)
    }

    /// npm's `_authToken`, `_auth` and `_password` values are masked in .npmrc and JSON forms.
    @Test(arguments: [
        ("//registry.npmjs.org/:_authToken=npm_AbC123\nother=1", "//registry.npmjs.org/:_authToken=****\nother=1"),
        ("_authToken = \"quoted value\"", "_authToken = \"****\""),
        ("{\"_authToken\": \"abc\", \"x\": 1}", "{\"_authToken\": \"****\", \"x\": 1}"),
        ("_auth=dXNlcjpwYXNz", "_auth=****"),
        ("//host/:_password=cGFzcw==", "//host/:_password=****"),
        ("my_authToken=value", "my_authToken=value"),
    ])
    func masksNpmTokens(input: String, expected: String) {
        #expect(SecretScrubber().scrub(input) == expected)
    }

    /// Authorization header values are masked, keeping the scheme word so logs stay readable.
    @Test(arguments: [
        ("> Authorization: Bearer eyJhbGciOi.x.y\r\n> Accept: */*", "> Authorization: Bearer ****\r\n> Accept: */*"),
        ("authorization: basic dXNlcjpw", "authorization: basic ****"),
        ("{\"Authorization\":\"Bearer abc\"}", "{\"Authorization\":\"Bearer ****\"}"),
        ("Proxy-Authorization: Basic Zm9v", "Proxy-Authorization: Basic ****"),
        ("Authorization: rawtoken123 was rejected", "Authorization: **** was rejected"),
    ])
    func masksAuthorizationHeaders(input: String, expected: String) {
        #expect(SecretScrubber().scrub(input) == expected)
    }

    /// Text without secrets passes through unchanged, including non-ASCII text.
    @Test func leavesCleanTextAlone() {
        let text = "Installed plugin weather 1.2.0 — 3 files, 12 kB. Authorization is required: see docs."
        #expect(SecretScrubber(secrets: ["unrelated-secret"]).scrub(text) == text)
    }
}
