import CCurl

/// Large blocks go back to the system when freed.
///
/// glibc serves an allocation of 128 KiB or more with its own mapping, returned at `free` — until the first such
/// mapping is freed, after which it raises that threshold to the freed size (up to 32 MiB) and serves later big
/// blocks from its heaps, where the memory stays after `free`. A registry fetch parses a document of several
/// megabytes and builds the snapshot from it; with the moving threshold the peak of that work
/// stayed resident for good (12 MiB of a 10,000-entry registry's plugind, measured with VmRSS). A fixed threshold of
/// 1 MiB keeps that peak passing: every block of 1 MiB or more is its own mapping, and blocks below it — a plugin
/// list's 190 KB answer, every per-request buffer — stay in the heaps as before, so requests pay no extra `mmap`.
public enum MemoryReturn {
    public static let mappedFrom: Int32 = 1 << 20

    /// Called once, first thing, by the serving process.
    public static func apply() {
        _ = plugind_malloc_mmap_from(mappedFrom)
    }

    /// Hands the heaps' free memory back to the system: after a large piece of work made of blocks below the
    /// threshold (a registry snapshot built from a parsed document), so that the peak does not stay resident.
    public static func trim() {
        _ = plugind_malloc_trim()
    }
}
