import Adapters
import Testing

/// npm's output, as npm 10 prints it, boiled down to the one line a person can act on.
@Suite struct NpmFailureLineTests {
    @Test func aFailedRequestIsNamedNotTheLogFile() {
        let output = """
            npm error code E500
            npm error 500 Internal Server Error - GET http://127.0.0.1:4873/tiny-dep - boom
            npm error A complete log of this run can be found in: /var/lib/plugind/tmp/npm-cache/_logs/2026-12-07T01_00_00_000Z-debug-0.log
            """
        #expect(NpmRunner.failureLine(output) == "500 Internal Server Error - GET http://127.0.0.1:4873/tiny-dep - boom")
    }

    @Test func withoutARequestTheFirstMeaningfulErrorLine() {
        let output = """
            npm warn config ignoring
            npm error code ENOENT
            npm error syscall open
            npm error path /var/lib/plugind/plugins/staging/x/package.json
            npm error errno -2
            npm error enoent Could not read package.json: Error: ENOENT: no such file or directory
            npm error A complete log of this run can be found in: /var/lib/plugind/tmp/_logs/debug-0.log
            """
        let line = NpmRunner.failureLine(output)
        #expect(line.hasPrefix("enoent Could not read package.json"))
        #expect(!line.contains("complete log"))
    }

    @Test func olderNpmsPrefixToo() {
        #expect(NpmRunner.failureLine("npm ERR! code E404\nnpm ERR! 404 Not Found - GET http://r/x - Not found\nnpm ERR! A complete log of this run can be found in:\nnpm ERR!     /root/.npm/_logs/x.log") == "404 Not Found - GET http://r/x - Not found")
    }
}
