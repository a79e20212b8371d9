import Foundation
import Stores
import Vocabulary

/// Where installs live, and the scratch places beside them (same file system, so moves are renames).
/// The install side of the state directory's layout (`StateLayout`).
public struct InstallLayout: Sendable {
    public let state: StateLayout
    public var stateDir: String { state.root }
    public var pluginsRoot: String { state.plugins }
    public var installRoot: String { state.installed }
    public var stagingRoot: String { state.staging }
    public var asideRoot: String { state.aside }
    public var downloadRoot: String { state.downloads }
    public var keptRoot: String { state.kept }
    public var npmHome: String { state.npmHome }
    public var npmCache: String { state.npmCache }

    public init(stateDir: String) {
        state = StateLayout(root: stateDir)
    }

    /// `<installRoot>/<npm name with unsafe characters as _>`, refused if it would leave the root.
    public func installPath(for npmName: String) throws(InstallError) -> String {
        let directory = PluginIdentity.directoryName(npmName)
        guard !directory.isEmpty, directory != ".", directory != "..", !directory.hasPrefix(".") else {
            throw .badRequest("\(npmName) cannot be installed under a safe directory name.")
        }
        return installRoot + "/" + directory
    }

    /// Whether `path` lies inside the install root (uninstall never touches anything else).
    public func isInsideInstallRoot(_ path: String) -> Bool {
        let standard = (path as NSString).standardizingPath
        return standard.hasPrefix(installRoot + "/") && !standard.dropFirst(installRoot.count + 1).contains("/")
    }

    /// The install root and what leads to it are readable by the agent runtime (its own user); staging, the
    /// trees set aside, downloads and npm's cache stay private.
    public func prepare(_ installer: any Installer) throws {
        for directory in [pluginsRoot, installRoot] { try installer.makeDirectory(directory, mode: 0o755) }
        for directory in [stagingRoot, asideRoot, keptRoot, downloadRoot, npmHome, npmCache] { try installer.makeDirectory(directory, mode: 0o700) }
    }
}
