import Foundation
import Vocabulary

/// Where installs live, and the scratch places beside them (same file system, so moves are renames).
public struct InstallLayout: Sendable {
    public let stateDir: String
    public var pluginsRoot: String { stateDir + "/plugins" }
    public var installRoot: String { pluginsRoot + "/installed" }
    /// One directory per running operation; left over only by a crash, and cleared at start.
    public var stagingRoot: String { pluginsRoot + "/.staging" }
    /// Previous versions kept aside until an install is committed.
    public var asideRoot: String { pluginsRoot + "/.aside" }
    /// The operations' verified tarballs and npm's temporary files: the installer's, like everything under plugins/.
    public var downloadRoot: String { pluginsRoot + "/.tmp" }
    /// npm's HOME and cache (never readable by the runtime: 0700).
    public var npmHome: String { pluginsRoot + "/.npm" }
    public var npmCache: String { npmHome + "/cache" }

    public init(stateDir: String) {
        self.stateDir = stateDir
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
        for directory in [stagingRoot, asideRoot, downloadRoot, npmHome, npmCache] { try installer.makeDirectory(directory, mode: 0o700) }
    }
}
