/// Where an entry's path would land. npm extracts with `strip: 1`, so the first component is
/// dropped; everything must live under `package/`.
enum EntryPath {
    private static let slash = UInt8(ascii: "/")

    /// Why an entry with this path may not be extracted, or nil.
    static func problem(_ path: [UInt8]) -> String? {
        if path.isEmpty { return "an empty name" }
        if path.contains(0) { return "a NUL byte inside the name" }
        if path.first == slash { return "an absolute path" }
        let components = path.split(separator: slash, omittingEmptySubsequences: false)
        if components.contains(where: { $0.elementsEqual("..".utf8) }) { return "a '..' component" }
        guard let first = normalised(components).first, first.elementsEqual("package".utf8) else {
            return "outside package/"
        }
        return nil
    }

    /// `package`, `package/`, `./package/.`: the package directory itself.
    static func isPackageRoot(_ path: [UInt8]) -> Bool {
        let components = normalised(path.split(separator: slash, omittingEmptySubsequences: false))
        return components.dropFirst().allSatisfy { $0.isEmpty || $0.elementsEqual(".".utf8) }
    }

    /// The entry npm reads as the package's manifest: after stripping the first component
    /// (exactly `package`; `./package/…` lands one level deeper) it resolves to `package.json`.
    static func isPackageJSON(_ path: [UInt8]) -> Bool {
        let components = path.split(separator: slash, omittingEmptySubsequences: false)
        guard let first = components.first, first.elementsEqual("package".utf8) else { return false }
        let rest = components.dropFirst().filter { !$0.isEmpty && !$0.elementsEqual(".".utf8) }
        return rest.count == 1 && rest[0].elementsEqual("package.json".utf8)
    }

    /// Leading `./` components removed.
    private static func normalised(_ components: [ArraySlice<UInt8>]) -> ArraySlice<ArraySlice<UInt8>> {
        var rest = components[...]
        while rest.count > 1, let first = rest.first, first.elementsEqual(".".utf8) { rest = rest.dropFirst() }
        return rest
    }
}
