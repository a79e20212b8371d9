import Tarball
import Testing

/// Malformed or ambiguous headers: wherever npm's extractor (Node's tar) would skip a header and
/// read its data as more headers, the tarball is refused.
@Suite("Malformed headers")
struct HeaderTests {
    /// A wrong checksum is refused, naming the entry.
    @Test func badChecksum() {
        let tar = packageTar { tar in
            var header = TarWriter.Header(name: "package/index.js")
            header.checksumError = 1
            tar.entry(header, data: Array("x".utf8))
        }
        guard case .badHeader("package/index.js", let reason) = refusal(inspectTar(tar)) else {
            Issue.record("expected a bad header")
            return
        }
        #expect(reason.hasPrefix("checksum mismatch"))
    }

    /// Non-octal text, a negative base-256 size and an invalid base-256 lead byte are refused.
    @Test func badNumbers() {
        let edits: [(String, (inout [UInt8]) -> Void, String)] = [
            ("size", { $0.replaceSubrange(124..<136, with: Array("12x45678901\u{0}".utf8)) }, "the size field is not a valid number"),
            ("size", { $0.replaceSubrange(124..<136, with: Array(repeating: 0xFF, count: 12)) }, "the size field is not a valid number"),
            ("size", { $0.replaceSubrange(124..<136, with: [UInt8](repeating: 0, count: 12)) }, "the size field is not a valid number"),
            ("mode", { $0[100] = 0x81 }, "the mode field is not a valid number"),
            ("mtime", { $0.replaceSubrange(136..<148, with: [0x80, 0xFF] + [UInt8](repeating: 0, count: 10)) }, "the mtime field is not a valid number"),
            ("uid", { $0[108] = 0xC0 }, "the uid field is not a valid number"),
        ]
        for (field, edit, reason) in edits {
            let tar = packageTar { tar in
                var header = TarWriter.Header(name: "package/index.js")
                header.edit = edit
                tar.entry(header)
            }
            #expect(refusal(inspectTar(tar)) == .badHeader(entry: "package/index.js", reason: reason), "\(field)")
        }
    }

    /// A negative base-256 mtime (before 1970) is fine: Node reads it.
    @Test func negativeBase256Time() throws {
        let tar = packageTar { tar in
            var header = TarWriter.Header(name: "package/old.js")
            header.edit = { $0.replaceSubrange(136..<148, with: [UInt8](repeating: 0xFF, count: 12)) }
            tar.entry(header, data: Array("x".utf8))
        }
        #expect(try inspectTar(tar).get().entries == 3)
    }

    /// A pax size that disagrees with the header size, as Node and GNU tar would read different data lengths.
    @Test func paxSizeDisagrees() {
        let tar = packageTar { tar in
            tar.pax([("size", "0")])
            tar.file("package/a.js", String(repeating: "a", count: 1024))
        }
        #expect(refusal(inspectTar(tar)) == .badHeader(entry: "package/a.js", reason: "the pax size 0 disagrees with the header size 1024"))
        let global = packageTar { tar in
            tar.pax([("size", "5")], global: true)
            tar.file("package/a.js", "abc")
        }
        #expect(refusal(inspectTar(global)) == .badHeader(entry: "package/a.js", reason: "the pax size 5 disagrees with the header size 3"))
    }

    /// A link target on a regular file, directory or pax header is refused (Node skips such headers).
    @Test func linkTargetOnNonLink() {
        let plain = packageTar { tar in
            var header = TarWriter.Header(name: "package/a.js")
            header.linkname = Array("elsewhere".utf8)
            tar.entry(header, data: Array("x".utf8))
        }
        let viaPax = packageTar { tar in
            tar.pax([("linkpath", "elsewhere")])
            tar.file("package/a.js")
        }
        let viaGlobal = packageTar { tar in
            tar.pax([("linkpath", "elsewhere")], global: true)
            tar.file("package/a.js")
        }
        for tar in [plain, viaPax, viaGlobal] {
            #expect(refusal(inspectTar(tar)) == .badHeader(entry: "package/a.js", reason: "a link target on an entry that is not a link"))
        }
    }

    /// A directory carrying data is refused, as is a regular file named like a directory (Node reads it as one, size 0).
    @Test func directoryWithData() {
        let directory = packageTar { $0.entry(TarWriter.Header(name: "package/dir", type: "5"), data: Array("hidden".utf8)) }
        #expect(refusal(inspectTar(directory)) == .badHeader(entry: "package/dir", reason: "a directory with 6 bytes of data"))
        let slash = packageTar { $0.file("package/dir/", "hidden") }
        #expect(refusal(inspectTar(slash)) == .badHeader(entry: "package/dir/", reason: "a directory with 6 bytes of data"))
    }

    /// A non-ASCII pax path over a header name ending in `/`: were Node to drop the record, it would see a directory.
    @Test func nonASCIIPaxPathOverDirectoryName() {
        let tar = packageTar { tar in
            tar.pax([("path", "package/é.js")])
            tar.file("package/dir/", "hidden")
        }
        #expect(refusal(inspectTar(tar)) == .badHeader(entry: "package/é.js", reason: "a directory with 6 bytes of data"))
    }

    /// Pax records that Node's line-by-line reader would read differently are refused.
    @Test(arguments: [
        (Array("14 path=a.js\n".utf8), "malformed pax record at byte 0"),
        (Array("12 path=a.js\n".utf8), "malformed pax record at byte 0"),
        (Array("012 path=a\n".utf8), "malformed pax record at byte 0"),
        (Array("11 path=a.js".utf8), "malformed pax record at byte 0"),
        (Array("12 nokeyval\n".utf8), "malformed pax record at byte 0"),
        (Array("7 =abc\n".utf8), "malformed pax record at byte 0"),
        // Node would split this record into lines and apply the inner `path` one.
        (TarWriter.paxRecord("x\n28 path=../../../etc/passwd\n", Array("v".utf8)), "a pax record contains a newline"),
        ([0x31, 0x31, 0x20, 0x70, 0x61, 0x74, 0x68, 0x3D, 0xFF, 0xFE, 0x0A], "the pax header is not valid UTF-8"),
        (Array("8 path=\n".utf8), "an empty pax path"),
        (Array("9 size=x\n".utf8), "the pax size is not a decimal number"),
        (TarWriter.paxRecord("size", Array(String(repeating: "9", count: 20).utf8)), "the pax size is out of range"),
    ] as [([UInt8], String)])
    func malformedPaxRecords(body: [UInt8], reason: String) {
        let tar = packageTar { tar in
            tar.pax(rawRecords: body, name: "PaxHeader/a.js")
            tar.file("package/a.js")
        }
        #expect(refusal(inspectTar(tar)) == .badHeader(entry: "PaxHeader/a.js", reason: reason))
    }

    /// A global pax header may not set a path (Node ignores it, POSIX applies it).
    @Test func globalPaxPath() {
        let tar = packageTar { tar in
            tar.pax([("path", "package/x.js")], global: true, name: "GlobalHead")
            tar.file("package/a.js")
        }
        #expect(refusal(inspectTar(tar)) == .badHeader(entry: "GlobalHead", reason: "a global pax header sets a path"))
    }

    /// Pax records over 1 MiB (Node ignores them) and long runs of them are refused.
    @Test func oversizedAndRepeatedMetadata() {
        let big = packageTar { tar in
            tar.pax([("comment", String(repeating: "c", count: 1 << 20))], name: "PaxHeader/a.js")
            tar.file("package/a.js")
        }
        #expect(refusal(inspectTar(big)) == .badHeader(entry: "PaxHeader/a.js", reason: "a pax or long-name record larger than 1048576 bytes"))
        let many = packageTar { tar in
            for _ in 0..<33 { tar.pax([("mtime", "1")], name: "PaxHeader/a.js") }
            tar.file("package/a.js")
        }
        #expect(refusal(inspectTar(many)) == .badHeader(entry: "PaxHeader/a.js", reason: "more than 32 pax or long-name records in a row"))
    }

    /// Empty names: an empty name field (Node skips the header) and an empty GNU long name.
    @Test func emptyNames() {
        let field = packageTar { tar in
            var header = TarWriter.Header(name: "")
            header.prefix = Array("package".utf8)
            tar.entry(header, data: Array("x".utf8))
        }
        #expect(refusal(inspectTar(field)) == .badHeader(entry: "package/", reason: "an empty name field"))
        let long = packageTar { tar in
            tar.longName([])
            tar.file("package/a.js")
        }
        #expect(refusal(inspectTar(long)) == .badHeader(entry: "././@LongLink", reason: "an empty GNU long name"))
    }

    /// A name that is not UTF-8 is refused.
    @Test func nameNotUTF8() {
        let tar = packageTar { $0.entry(TarWriter.Header(nameBytes: Array("package/".utf8) + [0xC3, 0x28])) }
        #expect(refusal(inspectTar(tar)) == .badHeader(entry: "package/\\xC3(", reason: "the name is not valid UTF-8"))
    }
}
