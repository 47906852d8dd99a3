using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Storage.Backends;
using Circular.Storage.Posix;

namespace Circular.Storage.Archive;

/// <summary>
/// A writable archive in a local directory: creation, publishing versions and changing refs, with the ordering
/// docs/format.md requires (chunks, then manifest, then an atomic refs swap) and flock-based locking:
/// pushes hold the archive lock shared, gc holds it exclusive; each image's refs change under its own lock.
/// </summary>
public sealed class LocalArchive
{
    private const string LockDir = ".locks";

    private LocalArchive(FileBackend backend, ArchiveReader reader)
    {
        Backend = backend;
        Reader = reader;
    }

    public FileBackend Backend { get; }
    public ArchiveReader Reader { get; }
    public ArchiveConfig Config => Reader.Config;
    public string Root => Backend.Location;

    public static async Task<ArchiveConfig> InitAsync(string path, ArchiveConfig config, CancellationToken ct)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UsageException($"{path} is a file, not a directory");
        if (File.Exists(Path.Combine(full, ArchiveLayout.ConfigPath))) throw new UsageException($"{path} is already a Circular archive");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new UsageException($"{path} is not empty; choose an empty or new directory");
        Directory.CreateDirectory(full);
        var backend = new FileBackend(full);
        await backend.WriteAsync(ArchiveLayout.ImageIndexPath, new ImageIndex().Serialize(), ct).ConfigureAwait(false);
        // circular.json last: it is what makes the directory an archive.
        await backend.WriteAsync(ArchiveLayout.ConfigPath, config.Serialize(), ct).ConfigureAwait(false);
        return config;
    }

    public static async Task<LocalArchive> OpenAsync(string path, CancellationToken ct)
    {
        if (!Directory.Exists(path)) throw new NotFoundException($"{path} is not a Circular archive (no such directory)");
        var backend = new FileBackend(path);
        var reader = await ArchiveReader.OpenAsync(backend, ct).ConfigureAwait(false);
        return new LocalArchive(backend, reader);
    }

    /// <summary>Held (shared) by every writer of chunks for its whole run; gc takes it exclusively.</summary>
    public Task<FileLock> LockChunksAsync(bool exclusive, CancellationToken ct) =>
        FileLock.AcquireAsync(Path.Combine(Root, LockDir, "chunks"), exclusive, ct);

    private Task<FileLock> LockImageAsync(string image, CancellationToken ct) =>
        FileLock.AcquireAsync(Path.Combine(Root, LockDir, "image-" + image), exclusive: true, ct);

    /// <summary>
    /// Publishes the next version of an image. Call only after every chunk the manifest names is stored.
    /// <paramref name="build"/> receives the new version number and the current refs (null for a new image).
    /// </summary>
    public async Task<(Manifest Manifest, ImageRefs Refs)> PublishAsync(
        string image, Func<int, ImageRefs?, (Manifest Manifest, VersionEntry Entry)> build, string? tag, CancellationToken ct)
    {
        ImageName.Validate(image);
        if (tag is not null) ImageName.ValidateTag(tag);
        Backend.SyncFileSystem(); // chunks durable before anything points at them
        using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var refs = await Reader.TryGetRefsAsync(image, ct).ConfigureAwait(false);
        int version = refs?.NextVersion ?? 1;
        var (manifest, entry) = build(version, refs);
        byte[] bytes = manifest.Serialize();
        entry = entry with { ManifestDigest = Manifest.Digest(bytes) };
        // Overwrites a manifest left by a push killed before its refs swap: refs never listed it.
        await Backend.WriteAsync(ArchiveLayout.ManifestPath(image, version), bytes, ct).ConfigureAwait(false);
        var tags = new Dictionary<string, int>(refs?.Tags ?? new(), StringComparer.Ordinal);
        if (tag is not null) tags[tag] = version;
        var next = new ImageRefs
        {
            Image = image,
            Serial = (refs?.Serial ?? 0) + 1,
            Updated = DateTimeOffset.UtcNow,
            Latest = version,
            Tags = tags,
            Versions = [.. refs?.Versions ?? [], entry],
        };
        await Backend.WriteAsync(ArchiveLayout.RefsPath(image), next.Serialize(), ct).ConfigureAwait(false);
        if (refs is null) await AddToIndexAsync(image, ct).ConfigureAwait(false);
        return (manifest, next);
    }

    /// <summary>Changes an image's refs (tag, rollback, forget versions) under its lock; <paramref name="change"/> may throw to abort.</summary>
    public async Task<ImageRefs> UpdateRefsAsync(string image, Func<ImageRefs, ImageRefs> change, CancellationToken ct)
    {
        // Fail on an unknown image before the lock: taking it would leave a lock file named after the bad name.
        await Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var refs = await Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        var next = change(refs) with { Serial = refs.Serial + 1, Updated = DateTimeOffset.UtcNow };
        await Backend.WriteAsync(ArchiveLayout.RefsPath(image), next.Serialize(), ct).ConfigureAwait(false);
        return next;
    }

    private async Task AddToIndexAsync(string image, CancellationToken ct)
    {
        using var indexLock = await FileLock.AcquireAsync(Path.Combine(Root, LockDir, "index"), exclusive: true, ct).ConfigureAwait(false);
        var obj = await Backend.TryReadAsync(ArchiveLayout.ImageIndexPath, ReadHints.None, ct).ConfigureAwait(false);
        var index = obj is null ? new ImageIndex() : ImageIndex.Parse(obj.Data, Root);
        if (index.Images.Contains(image)) return;
        index.Images.Add(image);
        index.Images.Sort(StringComparer.Ordinal);
        await Backend.WriteAsync(ArchiveLayout.ImageIndexPath, index.Serialize(), ct).ConfigureAwait(false);
    }
}
