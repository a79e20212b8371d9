import Foundation
import Tarball
import Testing

/// Where npm's own tar lives (npm 10 bundles Node's `tar` 6).
private let nodeTar: String? = {
    guard let root = try? run(["npm", "root", "-g"], in: FileManager.default.temporaryDirectory)
        .trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
    let path = root + "/npm/node_modules/tar"
    return FileManager.default.fileExists(atPath: path + "/package.json") ? path : nil
}()

/// Lists an archive the way npm's extractor reads it: one `type path` line per entry.
private func nodeTarListing(_ bytes: [UInt8]) throws -> [String] {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try Data(bytes).write(to: directory.appendingPathComponent("probe.tgz"))
    let script = """
        require(process.argv[1]).t({ file: process.argv[2], onentry: e => console.log(e.type + ' ' + e.path) })
        """
    return try run(["node", "-e", script, nodeTar!, "probe.tgz"], in: directory)
        .split(separator: "\n").map(String.init)
}

/// Archives that Node's tar (the oracle: what npm would really extract) reads differently from a
/// straightforward POSIX reader: each hides a symbolic link or an escaping path from such a
/// reader, so the inspector must refuse them.
@Suite("Node's tar as the oracle", .enabled(if: nodeTar != nil))
struct NodeTarOracleTests {
    static let hiddenLink: [UInt8] = {
        var header = TarWriter.Header(name: "package/evil", type: "2")
        header.linkname = Array("/etc/passwd".utf8)
        return header.block
    }()

    static let cases: [(String, TarWriter, String)] = [
        ("directory with data", packageTar { $0.entry(TarWriter.Header(name: "package/dir", type: "5"), data: hiddenLink) },
         "SymbolicLink package/evil"),
        ("link target on a file", packageTar { tar in
            var header = TarWriter.Header(name: "package/a.js")
            header.linkname = Array("x".utf8)
            tar.entry(header, data: hiddenLink)
        }, "SymbolicLink package/evil"),
        ("invalid base-256 mode", packageTar { tar in
            var header = TarWriter.Header(name: "package/a.js")
            header.edit = { $0[100] = 0x81 }
            tar.entry(header, data: hiddenLink)
        }, "SymbolicLink package/evil"),
        ("newline inside a pax record", packageTar { tar in
            tar.pax(rawRecords: TarWriter.paxRecord("x\n28 path=../../../etc/passwd\n", Array("v".utf8)))
            tar.file("package/a.js")
        }, "File ../../../etc/passwd"),
    ]

    /// Node's tar sees the hidden entry, and the inspector refuses the archive.
    @Test(arguments: 0..<cases.count)
    func nodeSeesWhatANaiveReaderMisses(index: Int) throws {
        let (name, tar, hidden) = Self.cases[index]
        let bytes = gzip(tar.bytes)
        #expect(try nodeTarListing(bytes).contains(hidden), "\(name)")
        #expect(refusal(inspectEveryWay(bytes)) != nil, "\(name)")
    }

    /// Node's tar reads the pax path together with a ustar prefix (as `npm pack` writes) as the pax path alone.
    @Test func paxPathWithPrefix() throws {
        let tar = packageTar { tar in
            tar.pax([("path", "package/lib/long.js")])
            var header = TarWriter.Header(name: "long.js")
            header.prefix = Array("package/lib".utf8)
            tar.entry(header, data: Array("x".utf8))
        }
        let bytes = gzip(tar.bytes)
        #expect(try nodeTarListing(bytes).contains("File package/lib/long.js"))
        #expect(refusal(inspectEveryWay(bytes)) == nil)
    }
}
