import Adapters
import Foundation

/// The checks a URL passes before plugind publishes it or sends anything to it.
enum PublicURI {
    static let maxLength = 2048

    /// Why `text` is not an absolute http(s) URL without credentials, or nil when it is one.
    /// The reason never repeats the text: it may carry a password.
    static func problem(_ text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        if text.utf8.count > maxLength { return "it is longer than \(maxLength) bytes" }
        if text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F || $0.value > 0x7E }) {
            return "it contains spaces, control or non-ASCII characters (percent-encode them)"
        }
        if text.contains("\\") { return "it contains a backslash" }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return "it must be an absolute URL such as https://agent.example.com"
        }
        guard scheme == "http" || scheme == "https" else { return "only http and https URLs are accepted, not \(scheme.prefix(32)):" }
        guard text.lowercased().hasPrefix(scheme + "://") else { return "it must be an absolute URL such as https://agent.example.com" }
        if components.user != nil || components.password != nil { return "it must not carry credentials (user:password@)" }
        guard let host = components.host, !host.isEmpty else { return "it has no host" }
        if let port = components.port, !(1...65535).contains(port) { return "its port is out of range" }
        return nil
    }

    /// Whether plugind may send the agent's secret to this registry base URL: https anywhere, http only on loopback.
    static func isAcceptableRegistry(_ text: String) -> Bool {
        guard problem(text) == nil, let components = URLComponents(string: text), let host = components.host else { return false }
        switch components.scheme?.lowercased() {
        case "https": return true
        case "http": return isLoopback(host)
        default: return false
        }
    }

    static func isLoopback(_ host: String) -> Bool { Loopback.isLoopback(host: host) }
}
