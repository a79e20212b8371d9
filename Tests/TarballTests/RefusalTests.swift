import Tarball
import Testing

@Suite("Refused entries")
struct RefusalTests {
    /// Paths that would land outside the package: absolute, `..`, another top directory, the bare package name as a file.
    @Test(arguments: [
        ("/etc/passwd", "an absolute path"),
        ("/package/index.js", "an absolute path"),
        ("package/../../etc/cron.d/x", "a '..' component"),
        ("package/lib/..", "a '..' component"),
        ("../package/x", "a '..' component"),
        ("other/index.js", "outside package/"),
        ("packages/index.js", "outside package/"),
        ("Package/index.js", "outside package/"),
        ("index.js", "outside package/"),
        ("./other/x", "outside package/"),
        (".//package/x", "outside package/"),
        ("package", "a file in place of the package directory"),
        ("./package/.", "a file in place of the package directory"),
    ])
    func forbiddenPaths(path: String, reason: String) {
        let tar = packageTar { $0.file(path) }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(entry: path, reason: reason))
    }

    /// A directory outside `package/` is refused like a file.
    @Test func forbiddenDirectory() {
        let tar = packageTar { $0.directory("./") }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(entry: "./", reason: "outside package/"))
    }

    /// Links, devices, FIFOs, sparse files and every other entry type are refused by their header alone.
    @Test(arguments: [
        ("1", "a hard link"), ("2", "a symbolic link"), ("3", "a character device"), ("4", "a block device"),
        ("6", "a FIFO"), ("S", "a GNU sparse file"), ("7", "an unsupported entry type '7'"),
        ("D", "an unsupported entry type 'D'"), ("N", "an unsupported entry type 'N'"),
        ("X", "an unsupported entry type 'X'"), ("V", "an unsupported entry type 'V'"),
        ("A", "an unsupported entry type 'A'"), ("Z", "an unsupported entry type 'Z'"),
    ] as [(Character, String)])
    func forbiddenTypes(type: Character, reason: String) {
        let tar = packageTar { tar in
            var header = TarWriter.Header(name: "package/special", type: type)
            if type == "1" || type == "2" { header.linkname = Array("/etc/passwd".utf8) }
            tar.entry(header)
        }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(entry: "package/special", reason: reason))
    }

    /// A symbolic link whose target comes from a GNU long-link record is still a symbolic link.
    @Test func longLinkSymlink() {
        let tar = packageTar { tar in
            tar.longLink("/" + String(repeating: "t", count: 200))
            var header = TarWriter.Header(name: "package/link", type: "2")
            header.format = .gnu
            tar.entry(header)
        }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(entry: "package/link", reason: "a symbolic link"))
    }

    /// GNU tar's pax encoding of sparse files (`GNU.sparse.*` records) is refused.
    @Test func paxSparseRecords() {
        let tar = packageTar { tar in
            tar.pax([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.realsize", "1073741824")])
            tar.file("package/GNUSparseFile.0/big.bin", "map")
        }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(entry: "package/GNUSparseFile.0/big.bin", reason: "a GNU sparse file"))
    }

    /// 20,000 tiny entries are refused at the 10,001st.
    @Test func twentyThousandEntries() {
        var tar = TarWriter()
        for index in 1...20_000 { tar.file("package/f\(index)", "") }
        tar.end()
        #expect(refusal(inspectTar(tar)) == .tooManyEntries(entry: "package/f10001", limit: 10_000))
    }

    /// The entry limit is a parameter, and directories count.
    @Test func entryLimitIsAParameter() {
        let tar = packageTar { tar in
            tar.directory("package/lib/")
            tar.file("package/lib/a.js")
        }
        let limits = TarballLimits(maxEntries: 3)
        #expect(refusal(inspectTar(tar, limits: limits)) == .tooManyEntries(entry: "package/lib/a.js", limit: 3))
        #expect(refusal(inspectTar(tar, limits: TarballLimits(maxEntries: 4))) == nil)
    }

    /// A header declaring 1 GiB is refused from the header alone: its data is not even present.
    @Test func oneGiBDeclaredEntry() {
        var tar = TarWriter()
        tar.directory("package/")
        tar.entry(TarWriter.Header(name: "package/huge.bin"), data: Array("only a few bytes".utf8), declaredSize: 1 << 30)
        #expect(refusal(inspectTar(tar)) == .tooLarge(entry: "package/huge.bin", limit: 200 << 20))
    }

    /// The largest octal size and a base-256 terabyte are refused before their data.
    @Test func hugeSizeFields() {
        for (header, size) in [(TarWriter.Header(name: "package/octal.bin"), Int64(0o777_7777_7777)), (base256("package/tera.bin"), Int64(1) << 40)] {
            var tar = TarWriter()
            tar.entry(header, declaredSize: size)
            #expect(refusal(inspectTar(tar)) == .tooLarge(entry: String(decoding: header.name, as: UTF8.self), limit: 200 << 20))
        }
        var tar = TarWriter()
        tar.entry(base256("package/beyond.bin"), declaredSize: Int64(1) << 60)
        #expect(refusal(inspectTar(tar)) == .badHeader(entry: "package/beyond.bin", reason: "the size field is out of range"))
    }

    private func base256(_ name: String) -> TarWriter.Header {
        var header = TarWriter.Header(name: name)
        header.base256Size = true
        return header
    }

    /// More than 200 MiB in total is refused at the header that crosses it (150 MiB of real data, then a 60 MiB header).
    @Test func totalOver200MiB() throws {
        var tar = TarWriter()
        tar.directory("package/")
        tar.entry(TarWriter.Header(name: "package/first.bin"), declaredSize: 150 << 20)
        let writer = GzipWriter(level: 1)
        writer.write(tar.bytes)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<150 { writer.write(zeros) }
        var rest = TarWriter()
        rest.entry(TarWriter.Header(name: "package/second.bin"), data: [], declaredSize: 60 << 20)
        writer.write(rest.bytes)
        let bytes = writer.finish()
        let result = outcome { () throws(TarballError) in try TarballInspector.inspect(chunks: randomChunks(bytes, seed: 3, maxChunk: 8192)) }
        #expect(refusal(result) == .tooLarge(entry: "package/second.bin", limit: 200 << 20))
    }

    /// The byte limit is a parameter and counts every declared size.
    @Test func byteLimitIsAParameter() {
        let tar = packageTar { tar in
            tar.file("package/a.bin", String(repeating: "a", count: 600))
            tar.file("package/b.bin", String(repeating: "b", count: 600))
        }
        #expect(refusal(inspectTar(tar, limits: TarballLimits(maxUnpackedBytes: 1000))) == .tooLarge(entry: "package/b.bin", limit: 1000))
    }

    /// A package.json over its own limit is refused rather than held in memory.
    @Test func packageJSONOverItsLimit() {
        let tar = packageTar { $0.file("package/package.json", String(repeating: " ", count: 2000)) }
        #expect(refusal(inspectTar(tar, limits: TarballLimits(maxPackageJSONBytes: 1000)))
            == .forbiddenEntry(entry: "package/package.json", reason: "package.json is larger than 1000 bytes"))
    }

    /// A NUL inside a pax path or inside a GNU long name is refused; the name shows it escaped.
    @Test func nulInsideNames() {
        let pax = packageTar { tar in
            tar.pax(rawRecords: TarWriter.paxRecord("path", Array("package/a\u{0}b.js".utf8)))
            tar.file("package/a.js")
        }
        #expect(refusal(inspectTar(pax)) == .forbiddenEntry(entry: "package/a\\0b.js", reason: "a NUL byte inside the name"))
        let long = packageTar { tar in
            tar.longName(Array("package/c\u{0}/../../d.js".utf8))
            tar.file("package/c.js")
        }
        #expect(refusal(inspectTar(long)) == .forbiddenEntry(entry: "package/c\\0/../../d.js", reason: "a NUL byte inside the name"))
    }

    /// An ASCII pax path cannot hide a header name outside the package (readers that drop the pax record use it).
    @Test func headerNameUnderAPaxPathIsChecked() {
        let tar = packageTar { tar in
            tar.pax([("path", "package/fine.js")])
            tar.file("../escape.js")
        }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(
            entry: "../escape.js", reason: "a '..' component (the header name under the long name \"package/fine.js\")"))
    }

    /// Names are shown escaped and capped: control characters, bidi overrides and invalid UTF-8.
    @Test func namesAreSanitised() {
        let hostile = "evil\u{1B}[31m\n\u{202E}txt.js"
        let tar = packageTar { $0.file(hostile) }
        #expect(refusal(inspectTar(tar)) == .forbiddenEntry(entry: "evil\\u{1B}[31m\\n\\u{202E}txt.js", reason: "outside package/"))

        let long = packageTar { tar in
            tar.pax([("path", "/" + String(repeating: "a", count: 5000))])
            tar.file("package/a.js")
        }
        let error = refusal(inspectTar(long))
        #expect(error?.entry == "/" + String(repeating: "a", count: 159) + "…")

        let invalid = packageTar { $0.entry(TarWriter.Header(nameBytes: Array("evil/".utf8) + [0xFF, 0xC0, 0xAF])) }
        #expect(refusal(inspectTar(invalid))?.entry == "evil/\\xFF\\xC0\\xAF")
    }

    /// Every error describes itself on one line.
    @Test func descriptionsAreOneLine() {
        let errors: [TarballError] = [
            .notGzip, .truncated, .corruptGzip("invalid block type"), .badHeader(entry: "a\\nb", reason: "x"),
            .badHeader(entry: nil, reason: "x"), .forbiddenEntry(entry: "/etc", reason: "an absolute path"),
            .tooManyEntries(entry: "package/f", limit: 10_000), .tooLarge(entry: "package/f", limit: 1), .io("open x: denied"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(!error.description.isEmpty)
        }
        #expect(TarballError.forbiddenEntry(entry: "/etc", reason: "an absolute path").description
            == #"forbidden tarball entry "/etc": an absolute path"#)
    }
}
