import Foundation
import Tarball
import Testing

/// A seeded generator, so a failing random chunking can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

typealias Outcome = Result<TarballSummary, TarballError>

func outcome(_ body: () throws(TarballError) -> TarballSummary) -> Outcome {
    Result { () throws(TarballError) in try body() }
}

/// `bytes` cut into pieces of 1...`maxChunk` bytes, sizes drawn from `seed`.
func randomChunks(_ bytes: [UInt8], seed: UInt64, maxChunk: Int = 1500) -> [ArraySlice<UInt8>] {
    var generator = SplitMix64(state: seed)
    var chunks: [ArraySlice<UInt8>] = []
    var index = 0
    while index < bytes.count {
        let size = Int.random(in: 1...maxChunk, using: &generator)
        chunks.append(bytes[index..<min(bytes.count, index + size)])
        index += size
    }
    return chunks
}

/// Feeds `bytes` whole, one byte at a time (unless `singleBytes` is false) and in two random
/// chunkings, requires the same outcome from each, and returns it.
@discardableResult
func inspectEveryWay(
    _ bytes: [UInt8], limits: TarballLimits = TarballLimits(), singleBytes: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Outcome {
    let whole = outcome { () throws(TarballError) in try TarballInspector.inspect(chunks: [bytes], limits: limits) }
    if singleBytes {
        let single = outcome { () throws(TarballError) in
            try TarballInspector.inspect(chunks: bytes.lazy.map { CollectionOfOne($0) }, limits: limits)
        }
        #expect(single == whole, "one byte at a time", sourceLocation: sourceLocation)
    }
    for seed: UInt64 in [1, 0xC0FFEE] {
        let random = outcome { () throws(TarballError) in
            try TarballInspector.inspect(chunks: randomChunks(bytes, seed: seed), limits: limits)
        }
        #expect(random == whole, "random chunks, seed \(seed)", sourceLocation: sourceLocation)
    }
    return whole
}

/// The gzip of `tar`, inspected every way.
@discardableResult
func inspectTar(_ tar: TarWriter, limits: TarballLimits = TarballLimits(), sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
    inspectEveryWay(gzip(tar.bytes), limits: limits, sourceLocation: sourceLocation)
}

/// An archive holding the package directory, then `body`'s entries, then the end marker.
func packageTar(_ body: (inout TarWriter) -> Void) -> TarWriter {
    var tar = TarWriter()
    tar.directory("package/")
    tar.file("package/package.json", #"{"name":"probe","version":"1.0.0"}"#)
    body(&tar)
    tar.end()
    return tar
}

/// The refusal `outcome` carries, if any.
func refusal(_ outcome: Outcome) -> TarballError? {
    if case .failure(let error) = outcome { return error }
    return nil
}

/// A fresh directory under the system temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tarball-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct CommandFailed: Error, CustomStringConvertible {
    let description: String
}

/// Runs a command to completion and returns its standard output.
@discardableResult
func run(_ arguments: [String], in directory: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment
    environment["npm_config_cache"] = FileManager.default.temporaryDirectory.appendingPathComponent("tarball-tests-npm-cache").path
    environment["npm_config_offline"] = "true"
    environment["npm_config_update_notifier"] = "false"
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(description: "\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

func write(_ text: String, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
}
