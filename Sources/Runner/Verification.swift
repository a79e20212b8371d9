import Adapters
import Crypto
import Foundation

/// Integrity (SRI) and registry signatures of a downloaded tarball.
public enum Verification {
    /// Checks the file against `dist.integrity` (sha512) and answers the SRI npm's lockfile gets. A package that
    /// publishes only sha1 (`integrity: sha1-…` or `dist.shasum`) is refused unless `allowSha1` (the setting
    /// allowSha1Integrity). `what` names the package in messages.
    public static func checkIntegrity(path: String, integrity: String?, shasum: String?, allowSha1: Bool, what: String) throws(InstallError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .upstream("The downloaded tarball of \(what) cannot be read.") }
        defer { try? handle.close() }
        var sha512 = SHA512()
        var sha1 = Insecure.SHA1()
        while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            sha512.update(data: chunk)
            sha1.update(data: chunk)
        }
        let digest512 = Data(sha512.finalize()).base64EncodedString()
        let digest1 = Data(sha1.finalize())
        let entries = (integrity ?? "").split(separator: " ").map(String.init)
        if let sri = entries.first(where: { $0.hasPrefix("sha512-") }) {
            guard String(sri.dropFirst("sha512-".count)) == digest512 else {
                throw .refused("The tarball of \(what) does not match its published sha512 integrity; it was not installed.")
            }
            return sri
        }
        let sha1SRI = "sha1-" + digest1.base64EncodedString()
        let published: Bool
        if let sri = entries.first(where: { $0.hasPrefix("sha1-") }) {
            published = sri == sha1SRI
        } else if let shasum {
            published = shasum.lowercased() == digest1.map({ String(format: "%02x", $0) }).joined()
        } else {
            throw .refused("The registry publishes no integrity for \(what); plugind installs nothing it cannot verify.")
        }
        guard allowSha1 else {
            throw .refused("\(what) publishes only a sha1 shasum, not sha512 integrity; set allowSha1Integrity to accept old packages like it.")
        }
        guard published else {
            throw .refused("The tarball of \(what) does not match its published sha1 shasum; it was not installed.")
        }
        return sha1SRI
    }

    /// Verifies ECDSA P-256 signatures over `name@version:integrity` with the registry's keys.
    /// A key counts only when it had not expired when the version was published.
    public static func checkSignatures(
        name: String, version: String, integrity: String?, signatures: [(keyid: String, sig: String)], keys: [SigningKey], publishedAt: String?
    ) throws(InstallError) {
        let message = Data("\(name)@\(version):\(integrity ?? "")".utf8)
        for signature in signatures {
            guard let key = keys.first(where: { $0.keyid == signature.keyid }) else {
                throw .refused("The signature of \(name)@\(version) names a key (\(signature.keyid.prefix(80))) the registry does not publish.")
            }
            if let expires = key.expires, let published = publishedAt, let expiry = parseDate(expires), let time = parseDate(published), expiry < time {
                throw .refused("The key that signed \(name)@\(version) had expired before the version was published.")
            }
            guard let keyData = Data(base64Encoded: key.key), let publicKey = try? P256.Signing.PublicKey(derRepresentation: keyData),
                let sigData = Data(base64Encoded: signature.sig), let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: sigData),
                publicKey.isValidSignature(ecdsa, for: message)
            else {
                throw .refused("The registry signature of \(name)@\(version) does not verify; it was not installed.")
            }
        }
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
