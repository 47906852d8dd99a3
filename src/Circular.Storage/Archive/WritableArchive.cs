using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Backends;
using Circular.Storage.Trust;
using Circular.Storage.Writing;

namespace Circular.Storage.Archive;

/// <summary>
/// A writable archive in any <see cref="IArchiveStore"/> (a directory, an S3 bucket): creation, publishing versions
/// and changing refs, with the ordering docs/format.md requires (chunks, then manifest, then refs) and its locks:
/// writers of chunks hold the "chunks" lock shared, gc holds it exclusive; each image's refs change under its own lock,
/// and every mutable object is replaced by compare-and-swap, so even a writer whose lock lapsed loses no version.
/// </summary>
public sealed class WritableArchive
{
    /// <summary>Rounds of read-change-swap before a write gives up to a writer that keeps changing the same object.</summary>
    private const int SwapAttempts = StoreSwaps.Attempts;

    private WritableArchive(IArchiveStore store, ArchiveReader reader)
    {
        Store = store;
        Reader = reader;
    }

    public IArchiveStore Store { get; }
    public IArchiveBackend Backend => Store.Backend;
    public ArchiveReader Reader { get; }
    public ArchiveConfig Config => Reader.Config;
    public string Root => Store.Location;
    /// <summary>Signs every manifest and refs file this archive writes (null: unsigned; refused on a signed archive).</summary>
    public ArchiveSigner? Signer { get; init; }

    /// <summary>The same archive, signing what it publishes with <paramref name="signer"/>.</summary>
    public WritableArchive WithSigner(ArchiveSigner? signer) => new(Store, Reader) { Signer = signer };

    /// <summary>Creates an archive in a new or empty directory.</summary>
    public static async Task<ArchiveConfig> InitAsync(string path, ArchiveConfig config, CancellationToken ct)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UsageException($"{path} is a file, not a directory");
        if (File.Exists(Path.Combine(full, ArchiveLayout.ConfigPath))) throw new UsageException($"{path} is already a Circular archive");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new UsageException($"{path} is not empty; choose an empty or new directory");
        Directory.CreateDirectory(full);
        return await InitAsync(new FileStore(full), config, ct).ConfigureAwait(false);
    }

    /// <summary>Creates an archive in a store that holds none (the caller has checked it is empty where that matters).</summary>
    public static async Task<ArchiveConfig> InitAsync(IArchiveStore store, ArchiveConfig config, CancellationToken ct)
    {
        if ((await store.ReadForSwapAsync(ObjectHandle.Config, ct).ConfigureAwait(false)).Data is not null)
            throw new UsageException($"{store.Location} is already a Circular archive");
        await store.Backend.WriteAsync(ObjectHandle.ImageIndex, new ImageIndex().Serialize(), ct).ConfigureAwait(false);
        await store.FlushAsync(ct).ConfigureAwait(false);
        // circular.json last: it is what makes the location an archive. Conditional, so two inits cannot both win.
        if (!await store.SwapAsync(ObjectHandle.Config, config.Serialize(), null, ct).ConfigureAwait(false))
            throw new UsageException($"{store.Location} is already a Circular archive");
        return config;
    }

    public static async Task<WritableArchive> OpenAsync(string path, CancellationToken ct)
    {
        if (!Directory.Exists(path)) throw new NotFoundException($"{path} is not a Circular archive (no such directory)");
        return await OpenAsync(new FileStore(path), ct).ConfigureAwait(false);
    }

    public static async Task<WritableArchive> OpenAsync(IArchiveStore store, CancellationToken ct)
    {
        var reader = await ArchiveReader.OpenAsync(store.Backend, ct).ConfigureAwait(false);
        return new WritableArchive(store, reader);
    }

    /// <summary>Marks the archive as format <paramref name="version"/> (see <see cref="StoreSwaps.RequireFormatAsync"/>).</summary>
    public Task<bool> RequireFormatAsync(int version, CancellationToken ct) => StoreSwaps.RequireFormatAsync(Store, version, ct);

    /// <summary>Held (shared) by every writer of chunks for its whole run; gc takes it exclusively.</summary>
    public Task<IAsyncDisposable> LockChunksAsync(bool exclusive, CancellationToken ct) => Store.LockAsync("chunks", exclusive, ct);

    private Task<IAsyncDisposable> LockImageAsync(string image, CancellationToken ct) => Store.LockAsync("image-" + image, exclusive: true, ct);

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
        await Store.FlushAsync(ct).ConfigureAwait(false); // chunks durable before anything points at them
        await using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var written = new Dictionary<int, string>(); // manifests this call wrote, by version: their digests
        for (int attempt = 0; attempt < SwapAttempts; attempt++)
        {
            var (refs, refsTag) = await ReadRefsForSwapAsync(image, ct).ConfigureAwait(false);
            int version = refs?.NextVersion ?? 1;
            SwapRead existing;
            while (true)
            {
                // A manifest refs do not list yet is a killed push's leftover, or another writer's in flight when
                // locks can lapse (S3). Under a lock that excludes everyone it is the former and is replaced; otherwise
                // only this call's own earlier attempt is, and any other keeps its number (a gap in the versions).
                existing = await Store.ReadForSwapAsync(ObjectHandle.Manifest(image, version), ct).ConfigureAwait(false);
                if (existing.Data is null || Store.ExclusiveLocks) break;
                if (written.TryGetValue(version, out var mine) && Manifest.Digest(existing.Data) == mine) break;
                version++;
            }
            var (manifest, entry) = build(version, refs);
            byte[] bytes = manifest.Serialize();
            entry = entry with { ManifestDigest = Manifest.Digest(bytes) };
            var manifestHandle = ObjectHandle.Manifest(image, version);
            if (!await Store.SwapAsync(manifestHandle, bytes, existing.Tag, ct).ConfigureAwait(false)) continue;
            written[version] = entry.ManifestDigest;
            if (Signer is not null)
                await Backend.WriteAsync(manifestHandle.Signature(), Signer.SignManifest(image, version, bytes), ct).ConfigureAwait(false);
            entry = await WritePatchAsync(image, version, refs, manifest, bytes, entry, ct).ConfigureAwait(false);
            await Store.FlushAsync(ct).ConfigureAwait(false);
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
            if (!await SwapRefsAsync(next, refsTag, ct).ConfigureAwait(false)) continue;
            if (refs is null) await AddToIndexAsync(image, ct).ConfigureAwait(false);
            return (manifest, next);
        }
        throw new ConcurrentUpdateException($"{image}: its refs kept changing under another writer; nothing was published, run it again");
    }

    /// <summary>
    /// Writes the new manifest as a patch to its parent's (docs/format.md, "Manifest patches") when both are format 2,
    /// the manifest is not small and the patch is at most half of it, and names it in the entry; a client holding the
    /// parent then downloads the patch. Written before the refs that name it; a later writer's version N replaces it.
    /// </summary>
    /// <summary>Below this a whole manifest costs a few milliseconds at 100 Mbit/s: a patch is not worth its object.</summary>
    public const int MinPatchedManifest = 64 << 10;

    private async Task<VersionEntry> WritePatchAsync(string image, int version, ImageRefs? refs, Manifest manifest, byte[] bytes, VersionEntry entry, CancellationToken ct)
    {
        if (manifest.Version != 2 || bytes.Length < MinPatchedManifest || manifest.Metadata.Parent is not int from || refs?.Find(from) is not { } parentEntry) return entry;
        var parent = await Reader.GetManifestAsync(image, parentEntry, ct).ConfigureAwait(false);
        var patch = ManifestPatch.Create(parent, parentEntry.ManifestDigest, manifest, bytes);
        if (patch is null || patch.Length > bytes.Length / 2) return entry;
        await Backend.WriteAsync(ObjectHandle.ManifestPatch(image, version), patch, ct).ConfigureAwait(false);
        return entry with { PatchFrom = from };
    }

    /// <summary>
    /// Stores a boot profile (content-addressed) and names it in the version's refs entry, replacing any earlier one.
    /// The version's packs, if any, stay: they are still correct, only perhaps less complete.
    /// </summary>
    public async Task<string> AttachProfileAsync(string image, int version, byte[] profile, CancellationToken ct)
    {
        string digest = BootProfile.Digest(profile);
        await using var gcFence = await LockChunksAsync(exclusive: false, ct).ConfigureAwait(false); // gc must not delete it before refs name it
        await Backend.WriteAsync(ObjectHandle.Profile(image, digest), profile, ct).ConfigureAwait(false);
        await Store.FlushAsync(ct).ConfigureAwait(false);
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
        await Store.FlushAsync(ct).ConfigureAwait(false); // packs durable before the index points at them
        await Backend.WriteAsync(ObjectHandle.PackIndex(image, digest), index, ct).ConfigureAwait(false);
        await Store.FlushAsync(ct).ConfigureAwait(false);
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
        // Fail on an unknown image before the lock: taking it would leave a lock named after the bad name.
        ImageName.Validate(image);
        if ((await ReadRefsForSwapAsync(image, ct).ConfigureAwait(false)).Refs is null)
            throw new NotFoundException($"no image '{image}' in {Root}");
        await PrepareSigningAsync(ct).ConfigureAwait(false);
        await using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        for (int attempt = 0; attempt < SwapAttempts; attempt++)
        {
            var (refs, refsTag) = await ReadRefsForSwapAsync(image, ct).ConfigureAwait(false);
            if (refs is null) throw new NotFoundException($"no image '{image}' in {Root}");
            var next = change(refs) with { Serial = refs.Serial + 1, Updated = DateTimeOffset.UtcNow };
            if (await SwapRefsAsync(next, refsTag, ct).ConfigureAwait(false)) return next;
        }
        throw new ConcurrentUpdateException($"{image}: its refs kept changing under another writer; nothing was changed, run it again");
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
        await using var imageLock = await LockImageAsync(image, ct).ConfigureAwait(false);
        var (refs, _) = await ReadRefsForSwapAsync(image, ct).ConfigureAwait(false);
        if (refs is null) throw new NotFoundException($"no image '{image}' in {Root}");
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

    /// <summary>
    /// Changes the archive's mirror list (mirrors.json, signed by <see cref="Signer"/> in a signed archive); returns the
    /// list now published. <paramref name="change"/> gets the current list (empty when there is none).
    /// </summary>
    public async Task<MirrorList> UpdateMirrorListAsync(Func<MirrorList, MirrorList> change, CancellationToken ct)
    {
        await PrepareSigningAsync(ct).ConfigureAwait(false);
        await using var indexLock = await Store.LockAsync("index", exclusive: true, ct).ConfigureAwait(false);
        for (int attempt = 0; attempt < SwapAttempts; attempt++)
        {
            var read = await Store.ReadForSwapAsync(ObjectHandle.MirrorList, ct).ConfigureAwait(false);
            var now = read.Data is null ? new MirrorList() : MirrorList.Parse(read.Data, Root);
            var next = change(now) with { Updated = DateTimeOffset.UtcNow };
            byte[] bytes = next.Serialize();
            if (!await Store.SwapAsync(ObjectHandle.MirrorList, bytes, read.Tag, ct).ConfigureAwait(false)) continue;
            if (Signer is not null)
                await Backend.WriteAsync(ObjectHandle.MirrorList.Signature(), Signer.SignMirrorList(bytes), ct).ConfigureAwait(false);
            else
                await Backend.DeleteAsync(ObjectHandle.MirrorList.Signature().Path, ct).ConfigureAwait(false);
            return next;
        }
        throw new ConcurrentUpdateException($"{Root}/{ArchiveLayout.MirrorListPath} kept changing under another writer; run it again");
    }

    /// <summary>The refs as stored now (not through the reader's memo), with the tag a swap of them needs.</summary>
    private async Task<(ImageRefs? Refs, string? Tag)> ReadRefsForSwapAsync(string image, CancellationToken ct)
    {
        var handle = ObjectHandle.Refs(image);
        var read = await Store.ReadForSwapAsync(handle, ct).ConfigureAwait(false);
        return read.Data is null ? (null, null) : (ImageRefs.Parse(read.Data, $"{Root}/{handle.Path}", image), read.Tag);
    }

    /// <summary>
    /// Refs by compare-and-swap, then their signature: a writer killed between the two leaves a mismatch that
    /// 'key resign' repairs. False when another writer changed the refs since <paramref name="tag"/>.
    /// </summary>
    private async Task<bool> SwapRefsAsync(ImageRefs refs, string? tag, CancellationToken ct)
    {
        // The last moment to notice a lost lease: after this the new refs may name objects a gc no longer spares.
        Store.ThrowIfLocksLost();
        byte[] bytes = refs.Serialize();
        if (!await Store.SwapAsync(ObjectHandle.Refs(refs.Image), bytes, tag, ct).ConfigureAwait(false)) return false;
        if (Signer is not null)
            await Backend.WriteAsync(ObjectHandle.Refs(refs.Image).Signature(), Signer.SignRefs(refs.Image, bytes, refs.Serial), ct).ConfigureAwait(false);
        return true;
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
        await using var indexLock = await Store.LockAsync("index", exclusive: true, ct).ConfigureAwait(false);
        await Backend.WriteAsync(ObjectHandle.PublicKey(id), System.Text.Encoding.UTF8.GetBytes(Signer.Key.Public.ToPem()), ct).ConfigureAwait(false);
        await Store.FlushAsync(ct).ConfigureAwait(false);
        await SwapJsonAsync(ObjectHandle.KeyList, data => data is null ? new ArchiveKeys() : ArchiveKeys.Parse(data, Root), k =>
        {
            if (k.Keys.Any(e => e.Id == id)) return null;
            k.Keys.Add(new ArchiveKeyEntry { Id = id, Added = DateTimeOffset.UtcNow });
            return k.Serialize();
        }, ct).ConfigureAwait(false);
    }

    private Task AddToIndexAsync(string image, CancellationToken ct) => StoreSwaps.AddToIndexAsync(Store, image, ct);

    private Task SwapJsonAsync<T>(ObjectHandle handle, Func<byte[]?, T> parse, Func<T, byte[]?> change, CancellationToken ct) =>
        StoreSwaps.SwapAsync(Store, handle, parse, change, ct);
}
