using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Backends;
using Circular.Storage.Posix;
using Circular.Storage.Trust;

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
    /// <summary>Signs every manifest and refs file this archive writes (null: unsigned; refused on a signed archive).</summary>
    public ArchiveSigner? Signer { get; init; }

    /// <summary>The same archive, signing what it publishes with <paramref name="signer"/>.</summary>
    public LocalArchive WithSigner(ArchiveSigner? signer) => new(Backend, Reader) { Signer = signer };

    public static async Task<ArchiveConfig> InitAsync(string path, ArchiveConfig config, CancellationToken ct)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UsageException($"{path} is a file, not a directory");
        if (File.Exists(Path.Combine(full, ArchiveLayout.ConfigPath))) throw new UsageException($"{path} is already a Circular archive");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new UsageException($"{path} is not empty; choose an empty or new directory");
        Directory.CreateDirectory(full);
        var backend = new FileBackend(full);
        await backend.WriteAsync(ObjectHandle.ImageIndex, new ImageIndex().Serialize(), ct).ConfigureAwait(false);
        // circular.json last: it is what makes the directory an archive.
        await backend.WriteAsync(ObjectHandle.Config, config.Serialize(), ct).ConfigureAwait(false);
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
        await PrepareSigningAsync(ct).ConfigureAwait(false);
        Backend.SyncFileSystem(); // chunks durable before anything points at them
        using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var refs = await Reader.TryGetRefsAsync(image, ct).ConfigureAwait(false);
        int version = refs?.NextVersion ?? 1;
        var (manifest, entry) = build(version, refs);
        byte[] bytes = manifest.Serialize();
        entry = entry with { ManifestDigest = Manifest.Digest(bytes) };
        // Overwrites a manifest left by a push killed before its refs swap: refs never listed it.
        var manifestHandle = ObjectHandle.Manifest(image, version);
        await Backend.WriteAsync(manifestHandle, bytes, ct).ConfigureAwait(false);
        if (Signer is not null)
            await Backend.WriteAsync(manifestHandle.Signature(), Signer.SignManifest(image, version, bytes), ct).ConfigureAwait(false);
        var tags = new Dictionary<string, int>(refs?.Tags ?? new(), StringComparer.Ordinal);
        if (tag is not null) tags[tag] = version;
        var next = new ImageRefs {
            Image = image,
            Serial = (refs?.Serial ?? 0) + 1,
            Updated = DateTimeOffset.UtcNow,
            Latest = version,
            Tags = tags,
            Versions = [.. refs?.Versions ?? [], entry],
        };
        await WriteRefsAsync(next, ct).ConfigureAwait(false);
        if (refs is null) await AddToIndexAsync(image, ct).ConfigureAwait(false);
        return (manifest, next);
    }

    /// <summary>
    /// Stores a boot profile (content-addressed) and names it in the version's refs entry, replacing any earlier one.
    /// The version's packs, if any, stay: they are still correct, only perhaps less complete.
    /// </summary>
    public async Task<string> AttachProfileAsync(string image, int version, byte[] profile, CancellationToken ct)
    {
        string digest = BootProfile.Digest(profile);
        using var gcFence = await LockChunksAsync(exclusive: false, ct).ConfigureAwait(false); // gc must not delete it before refs name it
        await Backend.WriteAsync(ObjectHandle.Profile(image, digest), profile, ct).ConfigureAwait(false);
        Backend.SyncFileSystem();
        await UpdateVersionAsync(image, version, e => e with { Profile = digest }, ct).ConfigureAwait(false);
        return digest;
    }

    /// <summary>
    /// Stores a pack index and names it in the version's refs entry. Its pack files must already be stored, by a
    /// caller holding <see cref="LockChunksAsync"/> shared from their first write until this returns.
    /// </summary>
    public async Task<string> AttachPacksAsync(string image, int version, byte[] index, CancellationToken ct)
    {
        string digest = BootProfile.Digest(index);
        Backend.SyncFileSystem(); // packs durable before the index points at them
        await Backend.WriteAsync(ObjectHandle.PackIndex(image, digest), index, ct).ConfigureAwait(false);
        Backend.SyncFileSystem();
        await UpdateVersionAsync(image, version, e => e with { Packs = digest }, ct).ConfigureAwait(false);
        return digest;
    }

    private Task<ImageRefs> UpdateVersionAsync(string image, int version, Func<VersionEntry, VersionEntry> change, CancellationToken ct) =>
        UpdateRefsAsync(image, r =>
        {
            int i = r.Versions.FindIndex(v => v.Version == version);
            if (i < 0) throw new NotFoundException($"image '{image}' has no version {version}");
            var versions = new List<VersionEntry>(r.Versions);
            versions[i] = change(versions[i]);
            return r with { Versions = versions };
        }, ct);

    /// <summary>Changes an image's refs (tag, rollback, forget versions) under its lock; <paramref name="change"/> may throw to abort.</summary>
    public async Task<ImageRefs> UpdateRefsAsync(string image, Func<ImageRefs, ImageRefs> change, CancellationToken ct)
    {
        // Fail on an unknown image before the lock: taking it would leave a lock file named after the bad name.
        await Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        await PrepareSigningAsync(ct).ConfigureAwait(false);
        using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var refs = await Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        var next = change(refs) with { Serial = refs.Serial + 1, Updated = DateTimeOffset.UtcNow };
        await WriteRefsAsync(next, ct).ConfigureAwait(false);
        return next;
    }

    /// <summary>
    /// Renews an image's refs signature (new timestamp and expiry) without changing refs.json or its serial, and
    /// signs any of its manifests that lack a signature by this key. Returns the number of manifests signed.
    /// </summary>
    public async Task<int> ResignAsync(string image, CancellationToken ct)
    {
        var signer = Signer ?? throw new UsageException("resigning needs a key (--key KEYFILE)");
        await Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        await PrepareSigningAsync(ct).ConfigureAwait(false);
        using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var refs = await Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        int signed = 0;
        foreach (var v in refs.Versions)
        {
            var manifest = ObjectHandle.Manifest(image, v.Version, v.ExpectedBlocks);
            var sig = await Backend.TryReadAsync(manifest.Signature(), ReadHints.None, ct).ConfigureAwait(false);
            if (sig is not null && SignatureFile.Parse(sig.Data, manifest.Path).KeyId == signer.Key.Id) continue;
            var raw = await Backend.TryReadAsync(manifest, ReadHints.None, ct).ConfigureAwait(false);
            // Sign only the manifest the refs vouch for: resigning must never bless a file altered on disk.
            if (raw is null || Manifest.Digest(raw.Data) != v.ManifestDigest)
                throw new ArchiveFormatException($"manifest of {image}@{v.Version} is missing or does not match its refs; not signing it");
            await Backend.WriteAsync(manifest.Signature(), signer.SignManifest(image, v.Version, raw.Data), ct).ConfigureAwait(false);
            signed++;
        }
        var refsRaw = await Backend.TryReadAsync(ObjectHandle.Refs(image), ReadHints.None, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"no image '{image}' in {Root}");
        await Backend.WriteAsync(ObjectHandle.Refs(image).Signature(), signer.SignRefs(image, refsRaw.Data, refs.Serial), ct).ConfigureAwait(false);
        return signed;
    }

    /// <summary>Refs, then their signature: a writer killed between the two leaves a mismatch that 'key resign' repairs.</summary>
    private async Task WriteRefsAsync(ImageRefs refs, CancellationToken ct)
    {
        byte[] bytes = refs.Serialize();
        await Backend.WriteAsync(ObjectHandle.Refs(refs.Image), bytes, ct).ConfigureAwait(false);
        if (Signer is not null)
            await Backend.WriteAsync(ObjectHandle.Refs(refs.Image).Signature(), Signer.SignRefs(refs.Image, bytes, refs.Serial), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// An unsigned write to a signed archive would make every trusting client refuse the image, so it is refused here;
    /// a signing writer publishes its public key (keys/KEYID.pub, listed in keys.json) before its first signature.
    /// </summary>
    private async Task PrepareSigningAsync(CancellationToken ct)
    {
        var obj = await Backend.TryReadAsync(ObjectHandle.KeyList, ReadHints.None, ct).ConfigureAwait(false);
        var keys = obj is null ? null : ArchiveKeys.Parse(obj.Data, Root);
        if (Signer is null)
        {
            if (keys is { Keys.Count: > 0 })
                throw new UsageException($"{Root} is a signed archive (key {string.Join(", ", keys.Keys.Select(k => k.Id))}): pass --key KEYFILE to sign what you publish");
            return;
        }
        string id = Signer.Key.Id;
        if (keys?.Keys.Any(k => k.Id == id) == true && await Backend.ExistsAsync(ObjectHandle.PublicKey(id), ct).ConfigureAwait(false)) return;
        using var indexLock = await FileLock.AcquireAsync(Path.Combine(Root, LockDir, "index"), exclusive: true, ct).ConfigureAwait(false);
        await Backend.WriteAsync(ObjectHandle.PublicKey(id), System.Text.Encoding.UTF8.GetBytes(Signer.Key.Public.ToPem()), ct).ConfigureAwait(false);
        obj = await Backend.TryReadAsync(ObjectHandle.KeyList, ReadHints.None, ct).ConfigureAwait(false);
        keys = obj is null ? new ArchiveKeys() : ArchiveKeys.Parse(obj.Data, Root);
        if (keys.Keys.Any(k => k.Id == id)) return;
        keys.Keys.Add(new ArchiveKeyEntry { Id = id, Added = DateTimeOffset.UtcNow });
        await Backend.WriteAsync(ObjectHandle.KeyList, keys.Serialize(), ct).ConfigureAwait(false);
    }

    private async Task AddToIndexAsync(string image, CancellationToken ct)
    {
        using var indexLock = await FileLock.AcquireAsync(Path.Combine(Root, LockDir, "index"), exclusive: true, ct).ConfigureAwait(false);
        var obj = await Backend.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None, ct).ConfigureAwait(false);
        var index = obj is null ? new ImageIndex() : ImageIndex.Parse(obj.Data, Root);
        if (index.Images.Contains(image)) return;
        index.Images.Add(image);
        index.Images.Sort(StringComparer.Ordinal);
        await Backend.WriteAsync(ObjectHandle.ImageIndex, index.Serialize(), ct).ConfigureAwait(false);
    }
}
