using Circular.Imaging.HotData;
using Circular.Storage.Cache;
using Circular.Storage.Trust;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Client;

/// <summary>
/// Everything that decides how a client reads one archive: where it is, how it is reached, cached and trusted, and
/// what the catalog of its versions does (overlays, hot data, measurement). The one input of
/// <see cref="ArchiveClient.OpenAsync"/>; front ends fill it from their own settings and never compose layers by hand.
/// </summary>
public sealed record ArchiveClientOptions
{
    /// <summary>An archive directory or an http(s) URL (or, with <see cref="Backend"/>, any location that backend reads).</summary>
    public required string Location { get; init; }
    /// <summary>
    /// A backend the front end opened itself for a location that is neither a directory nor a URL (an s3:// bucket):
    /// read like a remote archive, through the disk cache. The client disposes it.
    /// </summary>
    public Storage.Backends.IArchiveBackend? Backend { get; init; }
    /// <summary>More URLs of the same archive: ranked by measured round trip, used on failure (URL archives only).</summary>
    public IReadOnlyList<string> Mirrors { get; init; } = [];
    /// <summary>Learn more mirrors from the archive's mirror list (mirrors.json), URL archives only.</summary>
    public bool DiscoverMirrors { get; init; } = true;
    /// <summary>Deadline of one request to one mirror.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Extra rounds over all mirrors, with backoff, before a read fails as unavailable.</summary>
    public int Retries { get; init; } = 2;
    /// <summary>
    /// How long a read waits through a network outage (no mirror reachable) before it fails; zero: not at all. For a
    /// machine whose root is the archive, where a late read is a pause and a failed one an I/O error.
    /// </summary>
    public TimeSpan Patience { get; init; }
    /// <summary>The persistent cache of a URL archive (docs/cache.md); null: none. Local archives are cached only with <see cref="CacheAs"/>.</summary>
    public string? CacheDirectory { get; init; }
    public long CacheQuota { get; init; } = DiskCache.DefaultQuota;
    /// <summary>
    /// The location the disk cache files this archive's metadata under (default: <see cref="Location"/>), and with a
    /// cache directory, a local archive is cached too. A seed disk's cache is filled from one address of an archive
    /// (often its directory) and read, in the booted machine, from another (its URL there).
    /// </summary>
    public string? CacheAs { get; init; }
    /// <summary>Decoded chunks kept in memory (LRU): what repeated small reads inside one chunk hit.</summary>
    public long MemoryCacheBytes { get; init; } = 64L << 20;
    public TrustOptions Trust { get; init; } = new();
    /// <summary>How long refs and the image list, once read, answer later lookups (zero: every lookup asks).</summary>
    public TimeSpan MetadataMaxAge { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// The image the caller opens first, when it knows (the in-guest client's circular.image): its refs are read at
    /// once, alongside circular.json and the rest of the archive's metadata, instead of one round trip after them.
    /// </summary>
    public string? FirstImage { get; init; }
    /// <summary>Where writable opens keep their copy-on-write overlays; null: writable opens are refused.</summary>
    public string? OverlayRoot { get; init; }
    /// <summary>Profiles, packs and prefetching for the catalog's versions.</summary>
    public HotDataOptions HotData { get; init; } = new();
    /// <summary>When set, every manifest and chunk the catalog serves is measured into it (packs then stay unused).</summary>
    public MeasurementLog? Measure { get; init; }
    /// <summary>The one diagnostics seam: warnings (offline, trust on first use) and summaries. The library prints nothing itself.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;
}

/// <summary>How refs and manifests are checked (docs/format.md, "Signatures").</summary>
public sealed record TrustOptions
{
    /// <summary>False: no signature checks at all (an origin serving its own archive).</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Public key files (--trust); empty: a signed archive's key is pinned on first use.</summary>
    public IReadOnlyList<string> KeyFiles { get; init; } = [];
    /// <summary>Pinned keys and seen serials; null: <see cref="TrustState.DefaultRoot"/>.</summary>
    public string? StateDirectory { get; init; }

    public static TrustOptions None { get; } = new() { Enabled = false };
}
