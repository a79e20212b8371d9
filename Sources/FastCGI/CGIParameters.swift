import Glibc

/// The CGI parameters plugind uses, read from libfcgi's `envp` on every request: headers from
/// `HTTP_*`, `CONTENT_TYPE` and `CONTENT_LENGTH`, and the handful of named parameters. Everything else
/// nginx sends (`SERVER_SOFTWARE`, `DOCUMENT_ROOT`, …) is skipped without being turned into a string.
struct CGIParameters {
    var method: String?
    var uri: String?
    var contentLength: String?
    var remoteAddress: String?
    /// `PLUGIND_ORIGIN`: the origin the front end received the request on.
    var origin: String?
    /// `PLUGIND_REQUEST_ID`: the front end's id for the request.
    var frontEndRequestId: String?
    /// `PLUGIND_WAKE`: set only on plugind's own wake-up requests.
    var wake: String?
    /// Lowercased with `-`: `HTTP_X_REQUEST_ID` → `x-request-id`.
    var headers: [String: String] = [:]

    init(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard var pointer = envp else { return }
        while let entry = pointer.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { start in
                read(UnsafeBufferPointer(start: start, count: length))
            }
            pointer += 1
        }
    }

    private mutating func read(_ entry: UnsafeBufferPointer<UInt8>) {
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return }
        let name = UnsafeBufferPointer(rebasing: entry[..<eq])
        func value() -> String { String(decoding: UnsafeBufferPointer(rebasing: entry[(eq + 1)...]), as: UTF8.self) }
        if name.starts(with: "HTTP_".utf8) {
            headers[Self.headerName(fromCGI: UnsafeBufferPointer(rebasing: name[5...]))] = value()
            return
        }
        switch String(decoding: name, as: UTF8.self) {
        case "REQUEST_METHOD": method = value()
        case "REQUEST_URI": uri = value()
        case "CONTENT_TYPE": headers["content-type"] = value()
        case "CONTENT_LENGTH":
            contentLength = value()
            headers["content-length"] = contentLength
        case "REMOTE_ADDR": remoteAddress = value()
        case "PLUGIND_ORIGIN": origin = value()
        case "PLUGIND_REQUEST_ID": frontEndRequestId = value()
        case "PLUGIND_WAKE": wake = value()
        default: break
        }
    }

    /// `X_REQUEST_ID` (after `HTTP_`) → `x-request-id`.
    static func headerName(fromCGI name: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: name.count) { buffer in
            for (i, b) in name.enumerated() {
                buffer[i] = b == UInt8(ascii: "_") ? UInt8(ascii: "-") : (b >= 0x41 && b <= 0x5A ? b + 32 : b)
            }
            return name.count
        }
    }
}
