import Tarball
import Testing

@Suite("gzip layer")
struct GzipTests {
    static let tar = packageTar { tar in
        tar.file("package/index.js", "module.exports = 42\n")
        tar.file("package/README.md", String(repeating: "words ", count: 300))
    }

    /// A plain tar, text and empty input are not gzip; a lone first magic byte is a truncated gzip.
    @Test func notGzip() {
        #expect(refusal(inspectEveryWay(Self.tar.bytes)) == .notGzip)
        #expect(refusal(inspectEveryWay(Array("{\"name\":\"x\"}".utf8))) == .notGzip)
        #expect(refusal(inspectEveryWay([])) == .notGzip)
        #expect(refusal(inspectEveryWay([0x1F, 0x00])) == .notGzip)
        #expect(refusal(inspectEveryWay([0x1F])) == .truncated)
    }

    /// Cut at every byte, a gzip stream is truncated, never accepted.
    @Test func truncatedAtEveryByte() {
        let bytes = gzip(Self.tar.bytes)
        #expect(refusal(inspectEveryWay(bytes)) == nil)
        for length in 1..<bytes.count {
            #expect(refusal(inspectEveryWay(Array(bytes.prefix(length)))) == .truncated, "cut at \(length)")
        }
    }

    /// A tar cut inside a header or inside data is truncated even when the gzip around it is complete.
    @Test func truncatedTarInsideCompleteGzip() {
        let bytes = Self.tar.bytes
        for cut in [100, 512 + 300, 1024 + 10, 1536 + 511, 2048 + 700] {
            #expect(refusal(inspectEveryWay(gzip(Array(bytes.prefix(cut))))) == .truncated, "cut at \(cut)")
        }
        // A pax header whose entry never comes.
        var tar = TarWriter()
        tar.directory("package/")
        tar.pax([("path", "package/long.js")])
        #expect(refusal(inspectTar(tar)) == .truncated)
    }

    /// A bad CRC, a bad length, an unknown method and a reserved block type are corrupt gzip.
    @Test func corruptGzip() {
        let bytes = gzip(Self.tar.bytes)
        var crc = bytes
        crc[crc.count - 8] ^= 0xFF
        #expect(refusal(inspectEveryWay(crc)) == .corruptGzip("incorrect data check"))
        var length = bytes
        length[length.count - 1] ^= 0xFF
        #expect(refusal(inspectEveryWay(length)) == .corruptGzip("incorrect length check"))
        var method = bytes
        method[2] = 7
        #expect(refusal(inspectEveryWay(method)) == .corruptGzip("unknown compression method"))
        var block = bytes
        block[10] = 0x07
        #expect(refusal(inspectEveryWay(block)) == .corruptGzip("invalid block type"))
    }

    /// Bytes after a member that are not another member are an error while the tar is unfinished.
    @Test func strayDataBetweenMembers() {
        let bytes = Self.tar.bytes
        let first = gzip(Array(bytes.prefix(1024)))
        let second = gzip(Array(bytes.dropFirst(1024)))
        #expect(refusal(inspectEveryWay(first + second)) == nil)
        #expect(refusal(inspectEveryWay(first + [0] + second)) == .corruptGzip("data after a gzip member is not another gzip member"))
        #expect(refusal(inspectEveryWay(first + [0x1F])) == .truncated)
    }
}
