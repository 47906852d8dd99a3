using System.Collections.Concurrent;
using System.Security.Cryptography;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Trust;

namespace Circular.Server.Catalog;

/// <summary>
/// What the catalog shows, read from an archive as its publisher sees it: every image's refs checked (and, in a
/// signed archive, their signature verified with the archive's own keys), versions a page at a time. Facts about a
/// version that never change (its manifests' difference, its profile's summary) are computed once and remembered,
/// so an image with thousands of versions costs its refs file and one page of work.
/// </summary>
public sealed class CatalogReader
{
    public const int DefaultPageSize = 50;
    /// <summary>Remembered version facts before the memo starts over (each is a few hundred bytes).</summary>
    private const int MaxFacts = 200_000;

    private readonly ArchiveReader _reader;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, VersionFacts> _facts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (byte[] Hash, ParsedRefs Parsed)> _refs = new(StringComparer.Ordinal);
    /// <summary>The keys last read, replaced whole (requests run concurrently).</summary>
    private volatile KeySet? _keys;

    private sealed record KeySet(byte[] Bytes, TrustPolicy? Policy);

    public CatalogReader(ArchiveReader reader, TimeProvider? clock = null)
    {
        // The catalog judges signatures itself (to show them), so its reader applies no client trust policy.
        _reader = reader.WithTrust(null);
        _clock = clock ?? TimeProvider.System;
    }

    public string Location => _reader.Backend.Location;

    /// <summary>Every image of the archive, by name.</summary>
    public async Task<List<CatalogImage>> ImagesAsync(CancellationToken ct)
    {
        var policy = await KeysAsync(ct).ConfigureAwait(false);
        var names = await _reader.ListImagesAsync(ct).ConfigureAwait(false);
        var list = new List<CatalogImage>(names.Count);
        foreach (var name in names)
            if (await ReadRefsAsync(name, policy, ct).ConfigureAwait(false) is { } parsed) list.Add(parsed.Image);
        return list;
    }

    /// <summary>One image and a page of its versions (newest first), or null when the archive has no such image.</summary>
    public async Task<CatalogImageDetail?> ImageAsync(string name, int page, int pageSize, CancellationToken ct)
    {
        if (ImageName.Problem(name) is not null) return null;
        var policy = await KeysAsync(ct).ConfigureAwait(false);
        return await ReadRefsAsync(name, policy, ct).ConfigureAwait(false) is { } parsed
            ? await PageAsync(name, parsed, policy, page, pageSize, ct).ConfigureAwait(false)
            : null;
    }

    /// <summary>Every page of an image's versions from one reading of its refs (a static catalog writes them all).</summary>
    public async IAsyncEnumerable<CatalogImageDetail> PagesAsync(string name, int pageSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (ImageName.Problem(name) is not null) yield break;
        var policy = await KeysAsync(ct).ConfigureAwait(false);
        if (await ReadRefsAsync(name, policy, ct).ConfigureAwait(false) is not { } parsed) yield break;
        for (int page = 1; ; page++)
        {
            var detail = await PageAsync(name, parsed, policy, page, pageSize, ct).ConfigureAwait(false);
            yield return detail;
            if (page >= detail.Versions.Pages) yield break;
        }
    }

    private async Task<CatalogImageDetail> PageAsync(string name, ParsedRefs parsed, TrustPolicy? policy, int page, int pageSize, CancellationToken ct)
    {
        if (parsed.Refs is null)
        {
            if (page != 1) throw new NotFoundException($"image '{name}' has 1 page, not page {page}");
            return new CatalogImageDetail(parsed.Image, new CatalogVersionPage { Page = 1, PageSize = pageSize, Pages = 1 });
        }
        var ordered = parsed.Refs.Versions.OrderByDescending(v => v.Version).ToList();
        int pages = Math.Max(1, (ordered.Count + pageSize - 1) / pageSize);
        if (page < 1 || page > pages) throw new NotFoundException($"image '{name}' has {pages} page(s) of versions, not page {page}");
        var versions = new List<CatalogVersion>(Math.Min(pageSize, ordered.Count));
        for (int i = (page - 1) * pageSize; i < Math.Min(ordered.Count, page * pageSize); i++)
        {
            var entry = ordered[i];
            var previous = i + 1 < ordered.Count ? ordered[i + 1] : null;
            var facts = await FactsAsync(name, entry, previous, ct).ConfigureAwait(false);
            var (signer, signatureProblem) = policy is null ? (null, null) : await ManifestSignerAsync(name, entry, policy, ct).ConfigureAwait(false);
            versions.Add(new CatalogVersion {
                Version = entry.Version,
                Created = entry.Created,
                Message = entry.Message,
                Tags = parsed.Refs.Tags.Where(t => t.Value == entry.Version).Select(t => t.Key).Order(StringComparer.Ordinal).ToList(),
                Latest = entry.Version == parsed.Refs.Latest,
                Size = entry.Size,
                AddedBytes = entry.AddedBytes,
                AddedChunks = entry.AddedChunks,
                Chunking = entry.Chunking == Core.Manifests.Chunking.Content ? "content" : "fixed",
                Blocks = entry.Blocks,
                ZeroBlocks = entry.ZeroBlocks,
                Manifest = entry.ManifestDigest,
                SignedBy = signer,
                Profile = facts.Profile,
                Change = facts.Change,
                Problem = signatureProblem ?? facts.Problem,
                Links = CatalogPaths.Links(name, entry.Version),
            });
        }
        return new CatalogImageDetail(parsed.Image, new CatalogVersionPage { Page = page, PageSize = pageSize, Pages = pages, Total = ordered.Count, Versions = versions });
    }

    private sealed record ParsedRefs(CatalogImage Image, ImageRefs? Refs);
    private sealed record VersionFacts(CatalogProfile? Profile, CatalogChange? Change, string? Problem);

    /// <summary>An image's refs, checked; null when it has none. Parsed again only when the file's bytes change.</summary>
    private async Task<ParsedRefs?> ReadRefsAsync(string name, TrustPolicy? policy, CancellationToken ct)
    {
        var handle = ObjectHandle.Refs(name);
        BackendObject? obj;
        // A refs file over its size bound is refused by the backend: shown as corrupt like any other bad refs.
        try { obj = await _reader.Backend.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false); }
        catch (ArchiveFormatException e) { return new ParsedRefs(new CatalogImage { Name = name, Status = RefsStatus.Corrupt, Problem = e.Message }, null); }
        if (obj is null) return null;
        byte[] data = obj.Data.ToArray();
        byte[] hash = SHA256.HashData(data);
        string key = name + (policy is null ? "" : "\n" + string.Join(',', policy.Keys.Select(k => k.Id)));
        // The signature's verdict depends on the clock (expiry) and the .sig file, so only unsigned archives reuse a parse.
        if (policy is null && _refs.TryGetValue(key, out var known) && known.Hash.AsSpan().SequenceEqual(hash)) return known.Parsed;
        ImageRefs refs;
        try { refs = ImageRefs.Parse(data, $"of image '{name}'", name); }
        catch (ArchiveFormatException e) { return new ParsedRefs(new CatalogImage { Name = name, Status = RefsStatus.Corrupt, Problem = e.Message }, null); }
        var (status, signer, problem) = policy is null ? (RefsStatus.Ok, null, null)
            : await CheckRefsSignatureAsync(handle, data, refs, policy, ct).ConfigureAwait(false);
        if (status is not (RefsStatus.Ok or RefsStatus.Expired))
            return new ParsedRefs(new CatalogImage { Name = name, Status = status, Problem = problem }, null);
        var latest = refs.Find(refs.Latest);
        var image = new CatalogImage {
            Name = name,
            Description = refs.Description,
            Status = status,
            Problem = problem,
            Latest = refs.Latest,
            Versions = refs.Versions.Count,
            Size = latest?.Size ?? 0,
            StoredBytes = refs.Versions.Aggregate(0L, (sum, v) => sum > long.MaxValue - v.AddedBytes ? long.MaxValue : sum + v.AddedBytes),
            Tags = new Dictionary<string, int>(refs.Tags, StringComparer.Ordinal),
            Updated = refs.Updated,
            SignedBy = signer,
            Profiled = latest?.Profile is not null,
            Packed = latest?.Packs is not null,
        };
        // Refs a client would refuse are shown with their problem only, never as if valid.
        var parsed = new ParsedRefs(image, status == RefsStatus.Ok ? refs : null);
        if (policy is null) _refs[key] = (hash, parsed);
        return parsed;
    }

    private async Task<(RefsStatus, string?, string?)> CheckRefsSignatureAsync(ObjectHandle handle, byte[] data, ImageRefs refs, TrustPolicy policy, CancellationToken ct)
    {
        BackendObject? sigObj;
        try { sigObj = await _reader.Backend.TryReadAsync(handle.Signature(), ReadHints.None, ct).ConfigureAwait(false); }
        catch (ArchiveFormatException e) { return (RefsStatus.BadSignature, null, e.Message); }
        if (sigObj is null)
            return (RefsStatus.Unsigned, null, "the archive is signed but these refs are not: clients that trust the archive refuse this image (sign it with 'circular key resign')");
        SignatureFile sig;
        try { sig = policy.Verify(handle.Path, data, sigObj.Data, $"refs of image '{refs.Image}'"); }
        catch (Exception e) when (e is TrustException or ArchiveFormatException) { return (RefsStatus.BadSignature, null, e.Message); }
        if (sig.Statement.Serial != refs.Serial)
            return (RefsStatus.BadSignature, null, $"serial {refs.Serial} is not the signed serial {sig.Statement.Serial}");
        if (sig.Statement.ExpiresAt is not { } expires || _clock.GetUtcNow() >= expires)
            return (RefsStatus.Expired, sig.KeyId, $"the refs signature expired{(sig.Statement.ExpiresAt is { } x ? $" at {x.UtcDateTime:u}" : "")}: clients refuse it until 'circular key resign'");
        return (RefsStatus.Ok, sig.KeyId, null);
    }

    /// <summary>
    /// The key that signed a version's manifest; in a signed archive a version without a valid manifest signature gets a
    /// problem instead (clients that trust the archive refuse it), so it is never offered as if it were bootable.
    /// </summary>
    private async Task<(string? KeyId, string? Problem)> ManifestSignerAsync(string name, VersionEntry entry, TrustPolicy policy, CancellationToken ct)
    {
        var handle = ObjectHandle.Manifest(name, entry.Version, entry.ExpectedBlocks);
        try
        {
            var sig = await _reader.Backend.TryReadAsync(handle.Signature(), ReadHints.None, ct).ConfigureAwait(false);
            return (policy.VerifyDigest(handle.Path, entry.ManifestDigest, sig?.Data, $"the manifest of {name}@{entry.Version}").KeyId, null);
        }
        catch (Exception e) when (e is TrustException or ArchiveFormatException)
        {
            return (null, e.Message + ": clients that trust this archive refuse this version (sign it with 'circular key resign')");
        }
    }

    /// <summary>The archive's own keys (keys.json), read again only when keys.json changes; null for an unsigned archive.</summary>
    private async Task<TrustPolicy?> KeysAsync(CancellationToken ct)
    {
        var obj = await _reader.Backend.TryReadAsync(ObjectHandle.KeyList, ReadHints.None, ct).ConfigureAwait(false);
        if (obj is null) return null;
        if (_keys is { } known && obj.Data.AsSpan().SequenceEqual(known.Bytes)) return known.Policy;
        var keys = await TrustSetup.ReadAnnouncedKeysAsync(_reader.Backend, ct).ConfigureAwait(false);
        var policy = keys.Count == 0 ? null : new TrustPolicy(keys, null, null, () => _clock.GetUtcNow());
        _keys = new KeySet(obj.Data, policy);
        return policy;
    }

    private static string FactsKey(string name, int version, string manifest, int? previous, string? profile, string? packs) =>
        $"{name}/{version}/{manifest}/{previous}/{profile}/{packs}";

    /// <summary>
    /// Takes the facts of versions a static catalog already shows (its JSON), so rewriting it after a publish reads only
    /// the manifests of new versions. Facts are keyed by what determines them, so a stale entry is never used.
    /// </summary>
    public void Remember(string name, CatalogVersion v)
    {
        if (v.Problem is not null) return;
        if (_facts.Count >= MaxFacts) return;
        _facts[FactsKey(name, v.Version, v.Manifest, v.Change?.From, v.Profile?.Digest, v.Profile?.PacksDigest)] = new VersionFacts(v.Profile, v.Change, null);
    }

    /// <summary>What a version changed against the one before it and its profile's summary: fixed once computed.</summary>
    private async Task<VersionFacts> FactsAsync(string name, VersionEntry entry, VersionEntry? previous, CancellationToken ct)
    {
        // Version numbers are never reused and manifests never change, so the previous version's number names its manifest.
        string key = FactsKey(name, entry.Version, entry.ManifestDigest, previous?.Version, entry.Profile, entry.Packs);
        if (_facts.TryGetValue(key, out var known)) return known;
        CatalogProfile? profile = null;
        CatalogChange? change = null;
        string? problem = null;
        try
        {
            if (entry.Profile is not null)
            {
                var p = await _reader.GetProfileAsync(name, entry, ct).ConfigureAwait(false);
                var packs = await _reader.GetPackIndexAsync(name, entry, ct).ConfigureAwait(false);
                profile = new CatalogProfile(p!.Reads.Count, p.ReadBytes, packs?.Packs.Count ?? 0, packs?.Packs.Sum(x => x.Stored) ?? 0, entry.Profile, entry.Packs);
            }
            if (previous is not null)
            {
                var now = await _reader.GetManifestAsync(name, entry, ct).ConfigureAwait(false);
                var before = await _reader.GetManifestAsync(name, previous, ct).ConfigureAwait(false);
                change = ManifestChange.Between(previous.Version, before, now);
            }
        }
        catch (CircularException e) when (e is not BackendUnavailableException)
        {
            problem = e.Message;
        }
        var facts = new VersionFacts(profile, change, problem);
        if (problem is null)
        {
            if (_facts.Count >= MaxFacts) _facts.Clear();
            _facts[key] = facts;
        }
        return facts;
    }
}
