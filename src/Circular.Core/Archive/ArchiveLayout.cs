using Circular.Core.Chunks;

namespace Circular.Core.Archive;

/// <summary>Relative paths of every object in an archive (docs/format.md, "Layout"). Always '/'-separated.</summary>
public static class ArchiveLayout
{
    public const string ConfigPath = "circular.json";
    public const string ImageIndexPath = "images.json";
    public const string ChunksDir = "chunks";

    public static string ChunkPath(ChunkId id)
    {
        string hex = id.ToHex();
        return $"chunks/{hex[..2]}/{hex}";
    }

    public static string ImageDir(string image) => $"images/{image}";
    public static string RefsPath(string image) => $"images/{image}/refs.json";
    public static string ManifestPath(string image, int version) => $"images/{image}/versions/{version}";
    /// <summary>A boot profile, named by the SHA-256 of its file.</summary>
    public static string ProfilePath(string image, string digest) => $"images/{image}/profiles/{digest}";
    /// <summary>A pack index, named by the SHA-256 of its file.</summary>
    public static string PackIndexPath(string image, string digest) => $"images/{image}/packs/{digest}";
    public const string PacksDir = "packs";

    /// <summary>A pack file: a chunk file (CCHK) named by the SHA-256 of its uncompressed content.</summary>
    public static string PackPath(ChunkId id)
    {
        string hex = id.ToHex();
        return $"packs/{hex[..2]}/{hex}";
    }

    /// <summary>True for paths whose content never changes once written (served as immutable).</summary>
    public static bool IsImmutable(string path) =>
        path.StartsWith("chunks/", StringComparison.Ordinal) || path.StartsWith("packs/", StringComparison.Ordinal) ||
        path.Contains("/versions/", StringComparison.Ordinal) || path.Contains("/profiles/", StringComparison.Ordinal) ||
        path.Contains("/packs/", StringComparison.Ordinal);
}
