import Foundation
import Tarball
import Testing

/// Tarballs written by the real tools: GNU tar in each of its formats, and `npm pack`.
@Suite("Real tarballs")
struct RealTarballTests {
    static let manifest = #"{"name":"probe","version":"1.0.0","main":"index.js"}"#

    /// A package folder with a long nested path, a long file name, a non-ASCII name and an empty directory.
    static func makePackage(in directory: URL) throws -> URL {
        let root = directory.appendingPathComponent("package")
        try write(manifest, to: root.appendingPathComponent("package.json"))
        try write("module.exports = 1\n", to: root.appendingPathComponent("index.js"))
        let deep = "lib/" + String(repeating: "nested-directory/", count: 9) + String(repeating: "f", count: 120) + ".js"
        try write("deep\n", to: root.appendingPathComponent(deep))
        try write("café\n", to: root.appendingPathComponent("lib/café-ünïcödé.js"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        return root
    }

    /// GNU tar's default, gnu, posix and ustar-compatible outputs pass, with as many entries as `tar -t` lists.
    @Test(arguments: ["gnu", "posix", "oldgnu"])
    func gnuTarFormats(format: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try Self.makePackage(in: directory)
        try run(["tar", "--format=\(format)", "-czf", "probe.tgz", "package"], in: directory)
        let listed = try run(["tar", "-tzf", "probe.tgz"], in: directory).split(separator: "\n").count
        let bytes = try Array(Data(contentsOf: directory.appendingPathComponent("probe.tgz")))
        let summary = try inspectEveryWay(bytes).get()
        #expect(summary.entries == listed)
        #expect(summary.packageJSON == Array(Self.manifest.utf8))
        #expect(try TarballInspector.inspect(path: directory.appendingPathComponent("probe.tgz").path) == summary)
    }

    /// `npm pack` output (Node's tar: pax headers together with a ustar prefix) passes, package.json included.
    @Test func npmPack() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try Self.makePackage(in: directory)
        let name = try run(["npm", "pack", "--silent", "--pack-destination", directory.path], in: root)
            .split(separator: "\n").last.map(String.init) ?? ""
        let file = directory.appendingPathComponent(name)
        let listed = try run(["tar", "-tzf", file.path], in: directory).split(separator: "\n").count
        let bytes = try Array(Data(contentsOf: file))
        let summary = try inspectEveryWay(bytes).get()
        #expect(summary.entries == listed)
        #expect(summary.entries == 4)
        #expect(summary.packageJSON == Array(Self.manifest.utf8))
    }

    /// GNU tar's symbolic links, hard links and FIFOs are refused, naming the entry.
    @Test func gnuTarSpecialFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try Self.makePackage(in: directory)
        let cases: [(String, (URL) throws -> Void, String)] = [
            ("package/link.js", { try FileManager.default.createSymbolicLink(atPath: $0.appendingPathComponent("link.js").path, withDestinationPath: "/etc/passwd") }, "a symbolic link"),
            ("package/zz-hard.js", { try FileManager.default.linkItem(at: $0.appendingPathComponent("index.js"), to: $0.appendingPathComponent("zz-hard.js")) }, "a hard link"),
            ("package/pipe", { _ = mkfifo($0.appendingPathComponent("pipe").path, 0o644) }, "a FIFO"),
        ]
        for (entry, make, reason) in cases {
            let copy = directory.appendingPathComponent("copy")
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
            try run(["cp", "-a", root.path, copy.path], in: directory)
            try make(copy.appendingPathComponent("package"))
            // Sorted, so the hard link's second name is the one stored as a link.
            try run(["tar", "--sort=name", "-czf", "special.tgz", "-C", copy.path, "package"], in: directory)
            let bytes = try Array(Data(contentsOf: directory.appendingPathComponent("special.tgz")))
            #expect(refusal(inspectEveryWay(bytes)) == .forbiddenEntry(entry: entry, reason: reason))
        }
    }

    /// A 1 GiB sparse file archived with `--sparse` is refused from its header, in GNU and in pax form.
    @Test(arguments: ["gnu", "posix"])
    func gnuTarSparseFile(format: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try Self.makePackage(in: directory)
        try run(["truncate", "-s", "1G", root.appendingPathComponent("sparse.bin").path], in: directory)
        try run(["tar", "--format=\(format)", "--sparse", "-czf", "sparse.tgz", "package"], in: directory)
        let bytes = try Array(Data(contentsOf: directory.appendingPathComponent("sparse.tgz")))
        let error = refusal(inspectEveryWay(bytes))
        #expect(error?.entry?.contains("sparse.bin") == true)
        guard case .forbiddenEntry(_, "a GNU sparse file") = error else {
            Issue.record("expected a sparse-file refusal, got \(String(describing: error))")
            return
        }
    }
}
