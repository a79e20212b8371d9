extension HTTPResponse {
    /// Adds a strong ETag over the body and answers 304 when the client already has it.
    public func conditional(on request: HTTPRequest) -> HTTPResponse {
        guard status == 200 else { return self }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: fast, and collisions only cost a refetch
        for byte in body {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let tag = "\"" + String(hash, radix: 16) + "-" + String(body.count, radix: 16) + "\""
        var response = self
        response.setHeader("ETag", tag)
        if let presented = request.header("if-none-match"),
            presented.split(separator: ",").contains(where: { $0.trimming(" \t").replacingWeakPrefix() == tag || $0.trimming(" \t") == "*" })
        {
            return HTTPResponse(status: 304, headers: [("ETag", tag)])
        }
        return response
    }
}

extension String {
    fileprivate func replacingWeakPrefix() -> String { hasPrefix("W/") ? String(dropFirst(2)) : self }
}
