using Circular.Core.Chunks;
using Circular.Core.Manifests;

namespace Circular.Core.Archive;

/// <summary>The kinds of object an archive holds (docs/format.md, "Layout").</summary>
public enum ObjectKind
{
    Config,
    ImageIndex,
    KeyList,
    PublicKey,
    Refs,
    Manifest,
    /// <summary>A manifest written as a patch to its parent's: a transport for clients holding the parent.</summary>
    ManifestPatch,
    Profile,
    PackIndex,
    Chunk,
    Pack,
    /// <summary>A detached signature (FILE.sig) of a refs file or a manifest.</summary>
    Signature,
    /// <summary>mirrors.json: the other URLs of the archive, as its publisher announces them (signed in a signed archive).</summary>
    MirrorList,
    /// <summary>A writer's lock object in a store without file locks (S3): .locks/NAME/ID.</summary>
    Lock,
}

/// <summary>
/// One object of an archive, typed (restic's Handle): its kind decides its path, whether it may ever change (what
/// caches may keep) and the largest body a backend accepts for it, so a hostile mirror cannot make a client allocate
/// without bound. Backends and caches look at the kind, never at the path's spelling.
/// </summary>
public readonly record struct ObjectHandle
{
    private ObjectHandle(ObjectKind kind, string path, long maxLength, bool immutable)
    {
        Kind = kind;
        Path = path;
        MaxLength = maxLength;
        IsImmutable = immutable;
    }

    public ObjectKind Kind { get; }
    /// <summary>Relative, '/'-separated path inside the archive.</summary>
    public string Path { get; }
    /// <summary>The largest valid object of this kind, in bytes: anything longer is refused while it arrives.</summary>
    public long MaxLength { get; }
    /// <summary>True when the content never changes once written (served and cached as immutable).</summary>
    public bool IsImmutable { get; }

    public override string ToString() => Path;

    /// <summary>Upper bounds of the small JSON files. Generous: a refs file of 100,000 versions is about 50 MB.</summary>
    public const long MaxConfigLength = 1 << 20, MaxIndexLength = 16 << 20, MaxRefsLength = 64 << 20,
        MaxKeyLength = 64 << 10, MaxSignatureLength = 64 << 10, MaxHotDataLength = 256 << 20;

    /// <summary>A chunk or pack file: a CCHK header and at most 4 MiB of payload after the codec's worst case.</summary>
    public static readonly long MaxChunkFileLength = ChunkFile.MaxEncodedLength(ChunkFile.MaxChunkLength);

    public static ObjectHandle Config { get; } = new(ObjectKind.Config, ArchiveLayout.ConfigPath, MaxConfigLength, false);
    public static ObjectHandle ImageIndex { get; } = new(ObjectKind.ImageIndex, ArchiveLayout.ImageIndexPath, MaxIndexLength, false);
    public static ObjectHandle KeyList { get; } = new(ObjectKind.KeyList, ArchiveLayout.KeyListPath, MaxConfigLength, false);
    public static ObjectHandle MirrorList { get; } = new(ObjectKind.MirrorList, ArchiveLayout.MirrorListPath, MaxConfigLength, false);

    /// <summary>A lock object of a store without file locks: only under .locks/, never served or cached.</summary>
    public static ObjectHandle Lock(string path) =>
        path.StartsWith(ArchiveLayout.LocksDir + "/", StringComparison.Ordinal) && !path.Contains("..", StringComparison.Ordinal)
            ? new(ObjectKind.Lock, path, MaxKeyLength, false)
            : throw new ArgumentException($"not a lock path: {path}", nameof(path));

    public static ObjectHandle PublicKey(string keyId) => new(ObjectKind.PublicKey, ArchiveLayout.PublicKeyPath(keyId), MaxKeyLength, false);
    public static ObjectHandle Refs(string image) => new(ObjectKind.Refs, ArchiveLayout.RefsPath(image), MaxRefsLength, false);

    /// <summary>A manifest; with the block count its refs entry implies, bounded by exactly that many entries.</summary>
    public static ObjectHandle Manifest(string image, int version, long? blocks = null) =>
        new(ObjectKind.Manifest, ArchiveLayout.ManifestPath(image, version), Manifests.Manifest.MaxFileLength(blocks), true);

    /// <summary>Version N's manifest patch; bounded like the manifest it rebuilds (it is never longer than that).</summary>
    public static ObjectHandle ManifestPatch(string image, int version, long? blocks = null) =>
        new(ObjectKind.ManifestPatch, ArchiveLayout.ManifestPatchPath(image, version), Manifests.Manifest.MaxFileLength(blocks) + 4096, true);

    public static ObjectHandle Profile(string image, string digest) => new(ObjectKind.Profile, ArchiveLayout.ProfilePath(image, digest), MaxHotDataLength, true);
    public static ObjectHandle PackIndex(string image, string digest) => new(ObjectKind.PackIndex, ArchiveLayout.PackIndexPath(image, digest), MaxHotDataLength, true);
    public static ObjectHandle Chunk(ChunkId id) => new(ObjectKind.Chunk, ArchiveLayout.ChunkPath(id), MaxChunkFileLength, true);
    public static ObjectHandle Pack(ChunkId id) => new(ObjectKind.Pack, ArchiveLayout.PackPath(id), MaxChunkFileLength, true);

    /// <summary>The detached signature of this object: immutable exactly when its subject is.</summary>
    public ObjectHandle Signature() => new(ObjectKind.Signature, Path + ArchiveLayout.SignatureSuffix, MaxSignatureLength, IsImmutable);

    /// <summary>"DIR/xx/" and 64 lowercase hex digits starting with xx: nothing else, so no path tricks pass.</summary>
    private static bool TryAddressed(string path, string dir, out ChunkId id)
    {
        id = default;
        int prefix = dir.Length + 1;
        if (path.Length != prefix + 3 + 64 || !path.StartsWith(dir, StringComparison.Ordinal) || path[dir.Length] != '/' || path[prefix + 2] != '/')
            return false;
        var name = path.AsSpan(prefix + 3);
        foreach (char c in name)
            if (!char.IsAsciiHexDigitLower(c)) return false;
        return name[..2].SequenceEqual(path.AsSpan(prefix, 2)) && ChunkId.TryParse(name.ToString(), out id);
    }

    /// <summary>True for chunk and pack files: content-addressed, shared by every archive a cache serves.</summary>
    public bool IsChunkFile => Kind is ObjectKind.Chunk or ObjectKind.Pack;

    /// <summary>
    /// The object a relative path names, for front ends that receive paths (a static-file server); null for a path
    /// that is no archive object. The only place a path's spelling is turned back into a kind.
    /// </summary>
    public static ObjectHandle? FromPath(string path)
    {
        path = path.TrimStart('/');
        // Nearly every request an archive server gets is for a chunk: recognised without splitting the path.
        if (TryAddressed(path, ArchiveLayout.ChunksDir, out var chunk)) return Chunk(chunk);
        if (TryAddressed(path, ArchiveLayout.PacksDir, out var pack)) return Pack(pack);
        if (path.EndsWith(ArchiveLayout.SignatureSuffix, StringComparison.Ordinal))
            return FromPath(path[..^ArchiveLayout.SignatureSuffix.Length]) is { Kind: ObjectKind.Refs or ObjectKind.Manifest or ObjectKind.MirrorList } subject ? subject.Signature() : null;
        if (path == ArchiveLayout.ConfigPath) return Config;
        if (path == ArchiveLayout.ImageIndexPath) return ImageIndex;
        if (path == ArchiveLayout.KeyListPath) return KeyList;
        if (path == ArchiveLayout.MirrorListPath) return MirrorList;
        var parts = path.Split('/');
        switch (parts)
        {
            case ["keys", var file] when file.EndsWith(".pub", StringComparison.Ordinal):
                return PublicKey(file[..^4]);
            case ["images", var image, ..] when ImageName.Problem(image) is not null:
                return null;
            case ["images", var image, "refs.json"]:
                return Refs(image);
            case ["images", var image, "versions", var v] when int.TryParse(v, System.Globalization.NumberStyles.None, null, out int version) && v == version.ToString(System.Globalization.CultureInfo.InvariantCulture):
                return Manifest(image, version);
            case ["images", var image, "patches", var v] when int.TryParse(v, System.Globalization.NumberStyles.None, null, out int version) && v == version.ToString(System.Globalization.CultureInfo.InvariantCulture):
                return ManifestPatch(image, version);
            case ["images", var image, "profiles", var digest] when ArchiveLayout.IsDigest(digest):
                return Profile(image, digest);
            case ["images", var image, "packs", var digest] when ArchiveLayout.IsDigest(digest):
                return PackIndex(image, digest);
            default:
                return null;
        }
    }
}
