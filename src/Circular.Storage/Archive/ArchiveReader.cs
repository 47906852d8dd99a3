using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Storage.Backends;
using Circular.Storage.Trust;

namespace Circular.Storage.Archive;

/// <summary>Reads an archive's metadata (config, image index, refs, manifests) through any backend.</summary>
public sealed class ArchiveReader
{
    private ArchiveReader(IArchiveBackend backend, ArchiveConfig config)
    {
        Backend = backend;
        Config = config;
    }

    public IArchiveBackend Backend { get; }
    public ArchiveConfig Config { get; }
    /// <summary>Signature policy: when set, refs and manifests are accepted only as it allows (docs/format.md, "Signatures").</summary>
    public TrustPolicy? Trust { get; private init; }

    /// <summary>The same reader, checking every refs file and manifest against <paramref name="trust"/> (null: none).</summary>
    public ArchiveReader WithTrust(TrustPolicy? trust) => new(Backend, Config) { Trust = trust, MetadataMaxAge = MetadataMaxAge, _clock = _clock };

    /// <summary>How long refs and the image index, once read, answer later reads (zero: every read asks the backend).</summary>
    public TimeSpan MetadataMaxAge { get; private init; }
    private TimeProvider _clock = TimeProvider.System;
    private MetadataMemo<(string Image, bool Explicit), ImageRefs?>? _refsMemo;
    private MetadataMemo<int, IReadOnlyList<string>>? _indexMemo;

    /// <summary>
    /// The same reader, answering refs and the image index from what it read within <paramref name="maxAge"/>: for
    /// clients, where each NBD connection looked up images.json and refs (twice) again, three more round trips before
    /// QEMU's first read over a WAN. Never for writers: they read refs to replace them.
    /// </summary>
    public ArchiveReader WithMetadataMaxAge(TimeSpan maxAge, TimeProvider? clock = null) =>
        new(Backend, Config) { Trust = Trust, MetadataMaxAge = maxAge, _clock = clock ?? TimeProvider.System };

    private MetadataMemo<(string Image, bool Explicit), ImageRefs?> RefsMemo =>
        LazyInitializer.EnsureInitialized(ref _refsMemo, () => new(MetadataMaxAge, _clock));
    private MetadataMemo<int, IReadOnlyList<string>> IndexMemo =>
        LazyInitializer.EnsureInitialized(ref _indexMemo, () => new(MetadataMaxAge, _clock));

    public static async Task<ArchiveReader> OpenAsync(IArchiveBackend backend, CancellationToken ct) =>
        await TryOpenAsync(backend, ct).ConfigureAwait(false)
        ?? throw new NotFoundException($"{backend.Location} is not a Circular archive (no circular.json; create one with 'circular init')");

    /// <summary>The archive's reader, or null when the location holds no circular.json (it is not an archive).</summary>
    public static async Task<ArchiveReader?> TryOpenAsync(IArchiveBackend backend, CancellationToken ct)
    {
        var obj = await backend.TryReadAsync(ObjectHandle.Config, ReadHints.None, ct).ConfigureAwait(false);
        return obj is null ? null : new ArchiveReader(backend, ArchiveConfig.Parse(obj.Data, backend.Location));
    }

    public Task<IReadOnlyList<string>> ListImagesAsync(CancellationToken ct) =>
        MetadataMaxAge <= TimeSpan.Zero ? FetchImagesAsync(ct) : IndexMemo.GetAsync(0, _ => FetchImagesAsync(CancellationToken.None)).WaitAsync(ct);

    private async Task<IReadOnlyList<string>> FetchImagesAsync(CancellationToken ct)
    {
        var obj = await Backend.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None, ct).ConfigureAwait(false);
        if (obj is null) return [];
        return ImageIndex.Parse(obj.Data, Backend.Location).Images.Order(StringComparer.Ordinal).ToList();
    }

    /// <param name="explicitVersion">The caller wants a version by number: with a trust policy, refs older than the
    /// newest seen are then accepted (the manifest's own signature vouches for that version).</param>
    public Task<ImageRefs?> TryGetRefsAsync(string image, CancellationToken ct, bool explicitVersion = false)
    {
        ImageName.Validate(image);
        if (MetadataMaxAge <= TimeSpan.Zero) return FetchRefsAsync(image, explicitVersion, ct);
        // Refs that passed the check for "latest" pass the laxer one for a numbered version: a client that resolved
        // NAME and then opens NAME@N (a booting machine does) reads them once, not once per kind of request.
        if (explicitVersion && RefsMemo.TryGetCompleted((image, false), out var strict)) return Task.FromResult(strict);
        // Shared fetches run to completion whoever asked first: one caller giving up must not fail the others.
        return RefsMemo.GetAsync((image, explicitVersion), k => FetchRefsAsync(k.Image, k.Explicit, CancellationToken.None)).WaitAsync(ct);
    }

    private Task<ImageRefs?> FetchRefsAsync(string image, bool explicitVersion, CancellationToken ct)
    {
        var handle = ObjectHandle.Refs(image);
        // Trust failures are bad copies: a proxy may hold refs and signature from two different publishes.
        return VerifiedRead.ReadAsync<ImageRefs?>(Backend, handle, async (obj, hints) =>
        {
            byte[] data = obj.Data.ToArray();
            var refs = ImageRefs.Parse(data, $"of image '{image}' ({Describe(obj.Source)})", image);
            if (Trust is null) return refs;
            var sig = await Backend.TryReadAsync(handle.Signature(), hints, ct).ConfigureAwait(false);
            string what = $"refs of image '{image}' from {obj.Source}";
            var verified = Trust.Verify(handle.Path, data, sig?.Data, what);
            Trust.CheckRefs(image, refs, verified, explicitVersion, what, fromCache: obj.Source.StartsWith(Cache.CachingBackend.CacheSourcePrefix, StringComparison.Ordinal));
            return refs;
        }, whenMissing: defect => defect is null ? null : throw defect, whenExhausted: null, ct);
    }

    public async Task<ImageRefs> GetRefsAsync(string image, CancellationToken ct, bool explicitVersion = false) =>
        await TryGetRefsAsync(image, ct, explicitVersion).ConfigureAwait(false)
        ?? throw new NotFoundException($"no image '{image}' in {Backend.Location}");

    /// <summary>Picks the version a spec names: a number, a tag, "latest" or nothing (latest).</summary>
    public static VersionEntry Resolve(ImageRefs refs, ImageSpec spec)
    {
        int version;
        if (spec.Selector is null or "latest") version = refs.Latest;
        else if (spec.Number is int n) version = n;
        else if (!refs.Tags.TryGetValue(spec.Selector, out version))
            throw new NotFoundException($"image '{spec.Name}' has no version or tag '{spec.Selector}'");
        return refs.Find(version) ?? throw new NotFoundException($"image '{spec.Name}' has no version {version}");
    }

    private readonly ManifestMemo _manifests = new(ManifestMemo.DefaultMaxBlocks);

    /// <summary>
    /// Loads a version's manifest and checks it against the digest the refs list for it. Manifests loaded lately are
    /// answered from memory (by digest: they never change); concurrent loads of one share one fetch.
    /// </summary>
    public Task<Manifest> GetManifestAsync(string image, VersionEntry entry, CancellationToken ct) => GetManifestAsync(image, entry, null, ct);

    /// <summary>
    /// The same; with the image's <paramref name="refs"/>, a manifest this client does not hold arrives as a patch to
    /// its parent's when the client holds that one (docs/format.md, "Manifest patches").
    /// </summary>
    public Task<Manifest> GetManifestAsync(string image, VersionEntry entry, ImageRefs? refs, CancellationToken ct) =>
        _manifests.GetAsync(entry.ManifestDigest, () => LoadManifestAsync(image, entry, refs, CancellationToken.None)).WaitAsync(ct);

    private async Task<Manifest> LoadManifestAsync(string image, VersionEntry entry, ImageRefs? refs, CancellationToken ct)
    {
        if (refs is not null && await TryPatchedAsync(image, entry, refs, ct).ConfigureAwait(false) is { } patched) return patched;
        var handle = ObjectHandle.Manifest(image, entry.Version, entry.ExpectedBlocks);
        string what = $"{image}@{entry.Version}";
        return await VerifiedRead.ReadAsync(Backend, handle, (obj, hints) => CheckManifestAsync(image, entry, obj.Data.ToArray(), obj.Source, hints, ct),
            whenMissing: defect => throw defect ?? new ArchiveFormatException($"manifest of {what} is missing from {Backend.Location}"), whenExhausted: Damaged, ct).ConfigureAwait(false);
    }

    /// <summary>A manifest's bytes checked against its refs entry (digest, name, shape) and, in a signed archive, its signature.</summary>
    private async ValueTask<Manifest> CheckManifestAsync(string image, VersionEntry entry, byte[] data, string source, ReadHints hints, CancellationToken ct)
    {
        string what = $"{image}@{entry.Version}";
        string digest = Manifest.Digest(data);
        if (digest != entry.ManifestDigest)
            throw new DigestMismatchException($"manifest of {what} from {source} does not match its refs (digest {digest[..12]}, expected {entry.ManifestDigest[..12]})");
        var m = Manifest.Parse(data, what);
        if (m.Metadata.Image != image || m.Metadata.Version != entry.Version)
            throw new ArchiveFormatException($"refs of image '{image}' are corrupt: the manifest of {what} describes {m.Metadata.Image}@{m.Metadata.Version}");
        if (entry.Disagreement(m) is { } why)
            throw new ArchiveFormatException($"refs of image '{image}' are corrupt: version {entry.Version} does not match its manifest ({why})");
        if (Trust is null) return m;
        var handle = ObjectHandle.Manifest(image, entry.Version, entry.ExpectedBlocks);
        var sig = await Backend.TryReadAsync(handle.Signature(), hints, ct).ConfigureAwait(false);
        Trust.Verify(handle.Path, data, sig?.Data, $"manifest of {what} from {source}");
        return m;
    }

    /// <summary>
    /// The manifest rebuilt from its patch and the parent's manifest, when the refs name a patch, this client holds
    /// the parent's manifest and not this one; null to fetch it whole. Any failure (no patch on this mirror, a
    /// damaged one, one that rebuilds other bytes) falls back to the whole manifest, which decides.
    /// </summary>
    private async Task<Manifest?> TryPatchedAsync(string image, VersionEntry entry, ImageRefs refs, CancellationToken ct)
    {
        if (entry.PatchFrom is not { } from || refs.Find(from) is not { } parentEntry) return null;
        var handle = ObjectHandle.Manifest(image, entry.Version, entry.ExpectedBlocks);
        if (Backend.HoldsLocally(handle) || !Backend.HoldsLocally(ObjectHandle.Manifest(image, from, parentEntry.ExpectedBlocks))) return null;
        try
        {
            if (await RebuildFromPatchAsync(image, entry, parentEntry, ct).ConfigureAwait(false) is not { } rebuilt) return null;
            var m = await CheckManifestAsync(image, entry, rebuilt.Data, $"{rebuilt.Source} (a patch to {image}@{from})", ReadHints.None, ct).ConfigureAwait(false);
            Backend.KeepLocally(handle, rebuilt.Data);
            return m;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The manifest bytes a version's patch rebuilds from its parent's manifest; null when there is no patch.</summary>
    private async Task<(byte[] Data, string Source)?> RebuildFromPatchAsync(string image, VersionEntry entry, VersionEntry parentEntry, CancellationToken ct)
    {
        string what = $"{image}@{entry.Version}";
        var parent = await GetManifestAsync(image, parentEntry, ct).ConfigureAwait(false);
        var patch = await Backend.TryReadAsync(ObjectHandle.ManifestPatch(image, entry.Version, entry.ExpectedBlocks), ReadHints.None, ct).ConfigureAwait(false);
        if (patch is null) return null;
        if (ManifestPatch.ParentDigest(patch.Data, what) != parentEntry.ManifestDigest)
            throw new ArchiveFormatException($"manifest patch of {what} from {patch.Source} applies to another manifest than {image}@{parentEntry.Version}'s");
        return (ManifestPatch.Apply(patch.Data, parent, ObjectHandle.Manifest(image, entry.Version, entry.ExpectedBlocks).MaxLength, what), patch.Source);
    }

    /// <summary>
    /// What is wrong with the manifest patch a version's refs entry names, or null when it rebuilds the version's
    /// manifest exactly (or none is named, or its parent is no longer listed, so no client uses it).
    /// </summary>
    public async Task<string?> PatchProblemAsync(string image, VersionEntry entry, ImageRefs refs, CancellationToken ct)
    {
        if (entry.PatchFrom is not { } from || refs.Find(from) is not { } parentEntry) return null;
        try
        {
            if (await RebuildFromPatchAsync(image, entry, parentEntry, ct).ConfigureAwait(false) is not { } rebuilt) return "missing";
            return Manifest.Digest(rebuilt.Data) == entry.ManifestDigest ? null : "it rebuilds another manifest than the version's";
        }
        catch (CircularException e) { return e.Message; }
    }

    /// <summary>The version's boot profile, checked against the digest its refs entry names; null when it has none.</summary>
    public async Task<BootProfile?> GetProfileAsync(string image, VersionEntry entry, CancellationToken ct)
    {
        if (entry.Profile is null) return null;
        var data = await GetDigestedAsync(ObjectHandle.Profile(image, entry.Profile), entry.Profile, $"profile of {image}@{entry.Version}", ct).ConfigureAwait(false);
        return BootProfile.Parse(data, $"of {image}@{entry.Version}");
    }

    /// <summary>The version's pack index, checked against the digest its refs entry names; null when it has none.</summary>
    public async Task<PackIndex?> GetPackIndexAsync(string image, VersionEntry entry, CancellationToken ct)
    {
        if (entry.Packs is null) return null;
        var data = await GetDigestedAsync(ObjectHandle.PackIndex(image, entry.Packs), entry.Packs, $"pack index of {image}@{entry.Version}", ct).ConfigureAwait(false);
        var index = PackIndex.Parse(data, $"of {image}@{entry.Version}");
        if (index.Size != entry.Size) throw new ArchiveFormatException($"pack index of {image}@{entry.Version} describes a {index.Size}-byte image, not {entry.Size}");
        return index;
    }

    /// <summary>
    /// A content-addressed object (its name is its SHA-256), fetched once more past caches when a copy does not match:
    /// the refs that name it are signed, so a match vouches for it as the manifest's signature does for a manifest.
    /// </summary>
    private Task<byte[]> GetDigestedAsync(ObjectHandle handle, string digest, string what, CancellationToken ct) =>
        VerifiedRead.ReadAsync(Backend, handle, (obj, _) =>
        {
            byte[] data = obj.Data.ToArray();
            string got = BootProfile.Digest(data);
            return got == digest ? ValueTask.FromResult(data)
                : throw new DigestMismatchException($"{what} from {obj.Source} is corrupt (digest {got[..12]}, expected {digest[..12]})");
        }, whenMissing: defect => throw defect ?? new ArchiveFormatException($"{what} is missing from {Backend.Location}"), whenExhausted: Damaged, ct);

    /// <summary>No copy anywhere matches its digest: the archive itself is damaged (a failed signature stays a trust failure).</summary>
    private static Exception Damaged(Exception last, IReadOnlyList<string> sources) =>
        last is DigestMismatchException ? new ArchiveFormatException(last.Message, last) : last;

    /// <summary>Where a copy came from, for messages: the client's own cache says so.</summary>
    private static string Describe(string source) =>
        source.StartsWith(Cache.CachingBackend.CacheSourcePrefix, StringComparison.Ordinal) ? "the cached copy " + source[Cache.CachingBackend.CacheSourcePrefix.Length..] : source;

    /// <summary>
    /// The one way from what a user names (NAME, NAME@3, NAME@stable) to a version: refs, then the entry the spec
    /// selects, then its verified manifest. Every front end opens versions through here.
    /// </summary>
    public async Task<ResolvedVersion> OpenVersionAsync(ImageSpec spec, CancellationToken ct)
    {
        var refs = await GetRefsAsync(spec.Name, ct, explicitVersion: spec.Number is not null).ConfigureAwait(false);
        var entry = Resolve(refs, spec);
        return new ResolvedVersion(spec, refs, entry, await GetManifestAsync(spec.Name, entry, refs, ct).ConfigureAwait(false));
    }
}
