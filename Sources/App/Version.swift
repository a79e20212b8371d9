/// plugind's own version, as `--version`, the health route and the agent registry show it.
public enum PlugindVersion {
    public static let current = "0.1.0"
}
