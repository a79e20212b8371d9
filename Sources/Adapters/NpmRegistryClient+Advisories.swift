import JSON
import SemVer

/// One security advisory that applies to an exact package version, as the registry's bulk advisories endpoint reports
/// it. A plain value: what to do about it (block, warn, show) is the caller's.
public struct Advisory: Codable, Sendable, Equatable {
    public let package: String
    public let version: String
    /// `info`, `low`, `moderate`, `high` or `critical`.
    public let severity: String
    public let title: String
    public let url: String?

    public init(package: String, version: String, severity: String, title: String, url: String?) {
        self.package = package
        self.version = version
        self.severity = severity
        self.title = title
        self.url = url
    }

    /// npm's severities, least severe first; an unknown word ranks as `info`.
    public static let severities = ["info", "low", "moderate", "high", "critical"]

    public static func rank(_ severity: String) -> Int { severities.firstIndex(of: severity.lowercased()) ?? 0 }
}

extension NpmRegistryClient {
    /// The registry's advisories for exact versions (`POST <base>-/npm/v1/security/advisories/bulk`, what `npm audit`
    /// asks), each checked against its `vulnerable_versions`. A private scope's packages are asked of their own
    /// registry. Throws `.upstream` when a registry cannot answer (404: it offers no advisories).
    public func advisories(for packages: [(name: String, version: String)], timeoutMs: Int) throws(NpmRegistryError) -> [Advisory] {
        var byRegistry: [String: (client: NpmRegistryClient, versions: [String: [String]])] = [:]
        for package in packages {
            let source = client(for: package.name)
            byRegistry[source.base, default: (source, [:])].versions[package.name, default: []].append(package.version)
        }
        var found: [Advisory] = []
        for (_, group) in byRegistry.sorted(by: { $0.key < $1.key }) {
            found += try group.client.bulkAdvisories(group.versions, timeoutMs: timeoutMs)
        }
        return found.sorted { ($0.package, $0.version, $0.title) < ($1.package, $1.version, $1.title) }
    }

    private func bulkAdvisories(_ versions: [String: [String]], timeoutMs: Int) throws(NpmRegistryError) -> [Advisory] {
        let body = JSONObject(versions.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .array($0.value.map(JSONValue.string))) })
        let url = base + "-/npm/v1/security/advisories/bulk"
        let request = HTTPClientRequest(
            method: "POST", url: url, headers: headers(for: url) + [("Content-Type", "application/json")],
            body: Array(JSONWriter.compact(.object(body)).utf8))
        let response: HTTPClientResponse
        do {
            response = try metadata.limited(timeoutMs).send(request)
        } catch {
            throw Self.map(error, what: "the security advisories")
        }
        if response.status == 404 { throw .upstream("The npm registry at \(base) offers no security advisories (404).") }
        guard response.status == 200, let document = try? JSONParser.parse(response.body, maxDepth: 32), let reported = document.objectValue else {
            throw .upstream("The npm registry's security advisories answered \(response.status).")
        }
        var found: [Advisory] = []
        for member in reported {
            for version in versions[member.key] ?? [] {
                for item in member.value.arrayValue ?? [] {
                    // An advisory applies when the version is in its vulnerable range; one whose range does not read applies.
                    if let vulnerable = item["vulnerable_versions"]?.stringValue,
                        let range = try? VersionRange(vulnerable, loose: true), !range.isSatisfied(by: version)
                    {
                        continue
                    }
                    found.append(Advisory(
                        package: member.key, version: version, severity: item["severity"]?.stringValue ?? "info",
                        title: String((item["title"]?.stringValue ?? "untitled advisory").prefix(300)), url: item["url"]?.stringValue))
                }
            }
        }
        return found
    }
}
