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
    /// <summary>Version N's manifest as a patch to its parent's (docs/format.md, "Manifest patches").</summary>
    public static string ManifestPatchPath(string image, int version) => $"images/{image}/patches/{version}";
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

    /// <summary>The directory holding every object of a listable kind (per image for manifests, profiles and pack indexes).</summary>
    public static string DirectoryOf(ObjectKind kind, string? image) => kind switch {
        ObjectKind.Chunk => ChunksDir,
        ObjectKind.Pack => PacksDir,
        ObjectKind.Manifest => $"{ImageDir(image ?? throw new ArgumentNullException(nameof(image)))}/versions",
        ObjectKind.ManifestPatch => $"{ImageDir(image ?? throw new ArgumentNullException(nameof(image)))}/patches",
        ObjectKind.Profile => $"{ImageDir(image ?? throw new ArgumentNullException(nameof(image)))}/profiles",
        ObjectKind.PackIndex => $"{ImageDir(image ?? throw new ArgumentNullException(nameof(image)))}/packs",
        _ => throw new ArgumentException($"{kind} objects are not listed", nameof(kind)),
    };

    /// <summary>mirrors.json: the archive's other URLs (docs/format.md, "Mirror list"); mirrors.json.sig beside it when signed.</summary>
    public const string MirrorListPath = "mirrors.json";

    /// <summary>Writers' lock objects in stores without file locks (S3); a directory keeps its flock files here too.</summary>
    public const string LocksDir = ".locks";

    /// <summary>keys.json: the public keys a signed archive announces.</summary>
    public const string KeyListPath = "keys.json";
    public static string PublicKeyPath(string keyId) => $"keys/{keyId}.pub";

    /// <summary>A detached signature sits beside its subject under the subject's name plus this suffix.</summary>
    public const string SignatureSuffix = ".sig";

    /// <summary>A lowercase hex SHA-256: what names profiles and pack indexes.</summary>
    public static bool IsDigest(string s) => s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
