import Foundation
import Tarball
import Testing

@Suite("Tarballs that pass")
struct AcceptanceTests {
    static let manifest = #"{"name":"probe","version":"1.0.0"}"#

    /// A plain package is counted and its package.json returned byte for byte.
    @Test func minimalPackage() throws {
        let tar = packageTar { $0.file("package/index.js", "module.exports = 1\n") }
        let summary = try inspectTar(tar).get()
        #expect(summary.entries == 3)
        #expect(summary.unpackedBytes == Int64(Self.manifest.utf8.count + 19))
        #expect(summary.packageJSON == Array(Self.manifest.utf8))
    }

    /// Every header form the reader supports gives one summary whether fed whole, byte by byte or in random chunks.
    @Test func everyFormIdenticalAcrossChunkings() throws {
        let longDirectory = "package/" + String(repeating: "d", count: 120)
        let nonASCII = "package/lib/" + String(repeating: "é", count: 70) + ".js"
        let tar = packageTar { tar in
            // POSIX prefix + name.
            var prefixed = TarWriter.Header(name: "index.js")
            prefixed.prefix = Array("package/lib".utf8)
            tar.entry(prefixed, data: Array("a".utf8))
            // pax path (non-ASCII, longer than 100 bytes), with a size record equal to the header's.
            tar.pax([("path", nonASCII), ("size", "2"), ("mtime", "1700000000.5")])
            tar.entry(TarWriter.Header(nameBytes: Array(nonASCII.utf8.prefix(99))), data: Array("bb".utf8))
            // GNU long name.
            tar.longName(Array((longDirectory + "/file.js").utf8))
            var gnu = TarWriter.Header(name: String((longDirectory + "/file.js").prefix(100)))
            gnu.format = .gnu
            tar.entry(gnu, data: Array("ccc".utf8))
            // Base-256 size.
            var big = TarWriter.Header(name: "package/base256.bin")
            big.base256Size = true
            tar.entry(big, data: [UInt8](repeating: 7, count: 1000))
            // A global header that only sets a time, a lone zero block, a `./package/` name, an old-style directory.
            tar.pax([("mtime", "1")], global: true, name: "GlobalHead")
            tar.zeroBlock()
            tar.file("./package/dot.js", "dddd")
            tar.entry(TarWriter.Header(name: "package/old-dir/"))
            tar.directory("package/empty")
        }
        let summary = try inspectTar(tar).get()
        #expect(summary.entries == 9)
        #expect(summary.unpackedBytes == Int64(Self.manifest.utf8.count + 1 + 2 + 3 + 1000 + 4))
        #expect(summary.packageJSON == Array(Self.manifest.utf8))
    }

    /// A tar split across three concatenated gzip members reads exactly like one member.
    @Test func concatenatedGzipMembers() throws {
        let tar = packageTar { tar in
            for index in 0..<20 { tar.file("package/file\(index).js", String(repeating: "z", count: index * 37)) }
        }
        let single = try inspectEveryWay(gzip(tar.bytes)).get()
        // Cut inside a header, inside data and inside padding.
        let cuts = [700, 3333, tar.bytes.count - 100]
        var members: [UInt8] = []
        var start = 0
        for cut in cuts + [tar.bytes.count] {
            members += gzip(Array(tar.bytes[start..<cut]))
            start = cut
        }
        #expect(try inspectEveryWay(members).get() == single)
        // An empty member on either side changes nothing.
        #expect(try inspectEveryWay(gzip([]) + members + gzip([])).get() == single)
    }

    /// Anything after the end marker is ignored: inside the tar, after the gzip stream, and megabytes of padding.
    @Test func trailingGarbageAfterTheEndIsIgnored() throws {
        let tar = packageTar { $0.file("package/a.js") }
        let expected = try inspectTar(tar).get()
        var garbageInside = tar
        garbageInside.append(Array("not a header at all".utf8) + [UInt8](repeating: 0xFF, count: 3000))
        #expect(try inspectTar(garbageInside).get() == expected)
        #expect(try inspectEveryWay(gzip(tar.bytes) + Array("trailing junk".utf8)).get() == expected)
        #expect(try inspectEveryWay(gzip(tar.bytes) + [0, 0, 0, 0]).get() == expected)
        var padded = tar
        padded.append([UInt8](repeating: 0, count: 5 << 20))
        #expect(try inspectEveryWay(gzip(padded.bytes), singleBytes: false).get() == expected)
    }

    /// An archive without its end marker, or with only one of the two zero blocks, is accepted.
    @Test func missingEndMarkerIsTolerated() throws {
        var tar = TarWriter()
        tar.directory("package/")
        tar.file("package/package.json", Self.manifest)
        let summary = try inspectTar(tar).get()
        #expect(summary.entries == 2)
        tar.zeroBlock()
        #expect(try inspectTar(tar).get() == summary)
    }

    /// The package.json npm reads is the last `package/package.json`, also spelled `package//package.json`; `./package/package.json` lands elsewhere.
    @Test func packageJSONIsTheOneNpmReads() throws {
        let tar = packageTar { tar in
            tar.file("package//package.json", "second")
            tar.file("./package/package.json", "not the manifest")
            tar.file("package/lib/package.json", "nested")
        }
        #expect(try inspectTar(tar).get().packageJSON == Array("second".utf8))
        var none = TarWriter()
        none.file("package/index.js")
        none.end()
        #expect(try inspectTar(none).get().packageJSON == nil)
    }

    /// The file form reads a tarball from disk and reports a missing file as an I/O error.
    @Test func inspectsAFileOnDisk() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("probe.tgz")
        let tar = packageTar { $0.file("package/index.js") }
        try Data(gzip(tar.bytes)).write(to: file)
        #expect(try TarballInspector.inspect(path: file.path) == inspectTar(tar).get())
        let missing = directory.appendingPathComponent("missing.tgz").path
        #expect(throws: TarballError.io("open \(missing): No such file or directory")) {
            try TarballInspector.inspect(path: missing)
        }
    }

    /// The push form can be fed as a download arrives and reports completion once the archive has ended.
    @Test func streamFormReportsCompletion() throws {
        let tar = packageTar { $0.file("package/a.js") }
        var padded = tar
        padded.append([UInt8](repeating: 0, count: 4 << 20))
        let bytes = gzip(padded.bytes)
        let stream = TarballStream()
        var fed = 0
        for chunk in randomChunks(bytes, seed: 7, maxChunk: 256) where !stream.isComplete {
            try stream.feed(chunk)
            fed += chunk.count
        }
        #expect(fed < bytes.count)
        #expect(try stream.finish() == inspectTar(tar).get())
    }
}
