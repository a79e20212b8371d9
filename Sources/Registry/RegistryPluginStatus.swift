/// What the rest of plugind knows about a registry package, supplied by the caller per request so the
/// registry service knows nothing of install records, the runtime or the bundled catalogue. Encoded, these are the
/// last members of a plugin's details, in this order.
public struct RegistryPluginStatus: Encodable, Sendable, Equatable {
    /// An install record exists for this npm name.
    public var installed: Bool
    /// The installed version, when installed.
    public var installedVersion: String?
    /// The runtime reports this npm name loaded.
    public var loaded: Bool
    /// The bundled catalogue has this exact npm name.
    public var bundled: Bool

    public init(installed: Bool = false, installedVersion: String? = nil, loaded: Bool = false, bundled: Bool = false) {
        self.installed = installed
        self.installedVersion = installedVersion
        self.loaded = loaded
        self.bundled = bundled
    }

    /// Nothing known: not installed, not loaded, not bundled.
    public static let unknown = RegistryPluginStatus()
}
