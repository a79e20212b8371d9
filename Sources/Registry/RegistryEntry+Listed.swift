import JSON

extension RegistryEntry {
    /// The entry a listed plugin's details form was written from (`RegistryListedPlugin`): every field of the entry
    /// is one of its members, and the channels are the keys of `coreRanges` (every channel, in channel order) with
    /// their `versions`, `supports` and `git` members.
    init(listed object: JSONObject) {
        func string(_ key: String) -> String? { object[key]?.stringValue }
        func strings(_ key: String) -> [String] { object[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        self.init(name: string("name") ?? "")
        displayName = string("displayName") ?? displayName
        description = string("description") ?? ""
        npmPackage = object["npm"]?["package"]?.stringValue ?? name
        version = object["npm"]?["version"]?.stringValue
        versionChannel = string("channel")
        compatible = object["compatible"]?.boolValue
        compatibility = string("compatibility")
        let versions = object["versions"]?.objectValue
        let supports = object["supports"]?.objectValue
        let git = object["git"]?.objectValue
        channels = (object["coreRanges"]?.objectValue?.keys ?? []).map { name in
            RegistryChannel(
                name: name, npmVersion: versions?[name]?.stringValue, coreRange: object["coreRanges"]?[name]?.stringValue,
                gitVersion: git?[name]?["version"]?.stringValue, gitBranch: git?[name]?["branch"]?.stringValue,
                supported: supports?[name]?.boolValue)
        }
        gitRepo = string("gitRepo")
        repository = string("repository")
        homepage = string("homepage")
        author = string("author")
        tags = strings("tags")
        stars = object["stars"]?.intValue ?? 0
        language = string("language")
        kind = string("kind") ?? kind
        origin = string("origin")
        support = string("support")
        directory = string("directory")
        app = object["app"].flatMap { $0.isNull ? nil : $0 }
    }
}
