import Foundation
import Glibc

/// Whether a host or URL names this machine's loopback: `localhost`, an IPv4 address in 127.0.0.0/8, `::1`, or
/// the IPv4-mapped form of a 127/8 address. The host is parsed as an address, never matched as text, so
/// `127.0.0.1.example.com` is not loopback.
public enum Loopback {
    public static func isLoopback(host: String) -> Bool {
        var bare = host.lowercased()
        if bare.hasPrefix("[") && bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        if bare == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        let isV4Mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        return isV4Mapped && bytes[12] == 127
    }

    /// The URL's host, parsed, is loopback.
    public static func isLoopback(url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host, !host.isEmpty else { return false }
        return isLoopback(host: host)
    }
}
