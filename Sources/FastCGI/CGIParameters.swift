import Glibc

/// The CGI parameters plugind uses, read from libfcgi's `envp` on every request: headers from
/// `HTTP_*`, `CONTENT_TYPE` and `CONTENT_LENGTH`, and the handful of named parameters. Everything else
/// nginx sends (`SERVER_SOFTWARE`, `DOCUMENT_ROOT`, …) is skipped without being turned into a string:
/// names are told apart by their bytes, and only the values kept become `String`s.
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
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")), eq > 0 else { return }
        let name = UnsafeBufferPointer(rebasing: entry[..<eq])
        func value() -> String { String(decoding: UnsafeBufferPointer(rebasing: entry[(eq + 1)...]), as: UTF8.self) }
        if name.count > 5, name[0] == UInt8(ascii: "H"), name[1] == UInt8(ascii: "T"), name[2] == UInt8(ascii: "T"),
            name[3] == UInt8(ascii: "P"), name[4] == UInt8(ascii: "_")
        {
            headers[Self.headerName(fromCGI: UnsafeBufferPointer(rebasing: name[5...]))] = value()
            return
        }
        // An empty CONTENT_TYPE or CONTENT_LENGTH (nginx sends both on every request) is no header.
        if Self.is(name, "REQUEST_METHOD") {
            method = value()
        } else if Self.is(name, "REQUEST_URI") {
            uri = value()
        } else if Self.is(name, "CONTENT_TYPE") {
            if entry.count > eq + 1 { headers["content-type"] = value() }
        } else if Self.is(name, "CONTENT_LENGTH") {
            if entry.count > eq + 1 {
                contentLength = value()
                headers["content-length"] = contentLength
            }
        } else if Self.is(name, "REMOTE_ADDR") {
            remoteAddress = value()
        } else if Self.is(name, "PLUGIND_ORIGIN") {
            origin = value()
        } else if Self.is(name, "PLUGIND_REQUEST_ID") {
            frontEndRequestId = value()
        } else if Self.is(name, "PLUGIND_WAKE") {
            wake = value()
        }
    }

    /// Whether a parameter's name is `expected`: a length check, then one `memcmp`, no `String`.
    private static func `is`(_ name: UnsafeBufferPointer<UInt8>, _ expected: StaticString) -> Bool {
        name.count == expected.utf8CodeUnitCount && memcmp(name.baseAddress!, expected.utf8Start, name.count) == 0
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
