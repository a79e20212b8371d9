import HTTPKit
import Testing

/// The ETag taken over a body: the same bytes give the same tag, and any one byte changed, anywhere (in the part
/// hashed eight bytes at a time or in the few left over), gives another.
@Suite struct ETagTests {
    @Test func aTagFollowsEveryByte() {
        let body = (0..<1003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let tag = HTTPResponse.etag(of: body)
        #expect(tag.hasPrefix("W/\"") && tag.hasSuffix("\""))
        #expect(HTTPResponse.etag(of: body) == tag)
        var tags: Set<String> = [tag]
        for position in body.indices {
            var changed = body
            changed[position] ^= 0x01
            tags.insert(HTTPResponse.etag(of: changed))
        }
        #expect(tags.count == body.count + 1)
        // Lengths differ too, even where the bytes added are zeros.
        #expect(HTTPResponse.etag(of: []) != HTTPResponse.etag(of: [0]))
        #expect(HTTPResponse.etag(of: [UInt8](repeating: 0, count: 8)) != HTTPResponse.etag(of: [UInt8](repeating: 0, count: 16)))
    }

    /// A client holding the tag gets a 304; another tag gets the body.
    @Test func revalidation() {
        let body = Array(#"{"plugins":[]}"#.utf8)
        let tag = HTTPResponse.etag(of: body)
        let fresh = HTTPResponse.jsonBytes(body).conditional(on: HTTPRequest(method: HTTPMethod(frontEnd: "GET")!, uri: "/api/plugins", headers: ["if-none-match": tag]))
        #expect(fresh.status == .notModified)
        let stale = HTTPResponse.jsonBytes(body).conditional(on: HTTPRequest(method: HTTPMethod(frontEnd: "GET")!, uri: "/api/plugins", headers: ["if-none-match": "W/\"0-e\""]))
        #expect(stale.status == .ok && stale.body == body)
    }
}
