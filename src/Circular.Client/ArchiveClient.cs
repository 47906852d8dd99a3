using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.HotData;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Cache;
using Circular.Storage.Chunks;
using Circular.Storage.Http;
using Circular.Storage.Trust;

namespace Circular.Client;

/// <summary>
/// An opened archive: the one composition of the read path, built once from <see cref="ArchiveClientOptions"/> by
/// <see cref="OpenAsync"/> and used by every front end (the CLI's commands, `serve`, the in-guest client) and by the
/// tests. Bottom to top (docs/architecture.md):
/// <code>
///   backend        FileBackend (directory) | HttpBackend (mirrors, failover, bounded bodies)
///   disk cache     CachingBackend over DiskCache (URL archives): immutable objects kept, offline copies of the rest
///   patience       PatientBackend (when options.Patience is set): reads that need the network wait through outages
///   read ahead     ReadAheadBackend (remote archives): the metadata an open reads, requested at once
///   verification   BackendChunkSource: every chunk hashed against its id; a bad copy is fetched again past caches
///   memory cache   MemoryChunkCache: decoded chunks (LRU), one fetch per chunk however many readers wait
///   measurement    MeasuringChunkSource (with a measurement log)
///   images         ArchiveReader (refs, trust, manifests) → ChunkedImage → hot data → overlay, in <see cref="Catalog"/>
/// </code>
/// The disk cache sits below verification: what it returns is checked like any mirror's copy.
/// </summary>
public sealed class ArchiveClient : IAsyncDisposable
{
    private readonly ArchiveCatalog _archiveCatalog;
    private readonly HotDataLayer _hotData;

    private readonly IDisposable? _owned;

    private ArchiveClient(ArchiveClientOptions options, ArchiveReader reader, Layers layers, BackendChunkSource fetcher, MemoryChunkCache memory)
    {
        Options = options;
        Reader = reader;
        Http = layers.Http;
        _owned = layers.Owned;
        Cache = layers.Cache;
        Caching = layers.Caching;
        Fetcher = fetcher;
        Memory = memory;
        Chunks = options.Measure is { } log ? new MeasuringChunkSource(memory, log) : memory;
        // Pack reads bypass the chunk source, so a measured run reads whole chunks: every byte served is then in the log.
        var hot = options.Measure is null ? options.HotData : options.HotData with { Packs = false };
        if (ReferenceEquals(hot.Log, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)) hot = hot with { Log = options.Log };
        _hotData = new HotDataLayer(reader, Chunks, hot);
        _archiveCatalog = new ArchiveCatalog(reader, Chunks, options.OverlayRoot, _hotData);
        Catalog = options.Measure is { } m ? new MeasuringCatalog(_archiveCatalog, reader, m) : _archiveCatalog;
    }

    public ArchiveClientOptions Options { get; }
    /// <summary>Metadata: image list, refs (trusted and memoized as the options say), manifests.</summary>
    public ArchiveReader Reader { get; }
    /// <summary>What images read chunks from: verified, cached in memory, measured when measuring.</summary>
    public IChunkSource Chunks { get; }
    /// <summary>Every version of every image as exports (NAME, NAME@N, NAME@TAG), with overlays and hot data.</summary>
    public IImageCatalog Catalog { get; }

    /// <summary>The HTTP layer of a URL archive (request and byte counters), else null.</summary>
    public HttpBackend? Http { get; }
    /// <summary>The persistent cache of a URL archive, else null.</summary>
    public DiskCache? Cache { get; }
    /// <summary>The backend layer that puts <see cref="Cache"/> in front of <see cref="Http"/>, else null.</summary>
    public CachingBackend? Caching { get; }
    /// <summary>The verifying layer: chunk files fetched, their bytes, corrupt copies met.</summary>
    public BackendChunkSource Fetcher { get; }
    public MemoryChunkCache Memory { get; }

    public string Location => Options.Location;

    /// <summary>Opens the archive at <see cref="ArchiveClientOptions.Location"/>; NotFoundException when there is none.</summary>
    public static async Task<ArchiveClient> OpenAsync(ArchiveClientOptions options, CancellationToken ct) =>
        await TryOpenAsync(options, ct).ConfigureAwait(false)
        ?? throw new NotFoundException($"{options.Location} is not a Circular archive (no circular.json; create one with 'circular init')");

    /// <summary>Like <see cref="OpenAsync"/>, but null when the location is reachable and holds no archive (a plain file's URL).</summary>
    public static async Task<ArchiveClient?> TryOpenAsync(ArchiveClientOptions options, CancellationToken ct)
    {
        var layers = OpenBackend(options);
        try
        {
            if (layers.Backend is ReadAheadBackend ahead) ahead.ReadAhead(MetadataAtOpen(options, layers), ct);
            var reader = await ArchiveReader.TryOpenAsync(layers.Backend, ct).ConfigureAwait(false);
            if (reader is null)
            {
                layers.Http?.Dispose();
                layers.Owned?.Dispose();
                return null;
            }
            // The image list, read alongside the trust set-up while online, is then in the cache for offline listings
            // (mount and nbd list images at start). Its failure is not this open's: whoever needs the list reads it again.
            var index = layers.Cache is null ? Task.CompletedTask : reader.ListImagesAsync(ct);
            // The mirror list too: read now, applied once the trust that checks it is known.
            var mirrorList = layers.Http is null || !options.DiscoverMirrors ? null : MirrorDiscovery.ReadAsync(layers.Backend, ct);
            if (options.Trust.Enabled)
            {
                var trust = await TrustSetup.ResolveAsync(layers.Backend, TrustSetup.NormalizeLocation(options.Location), options.Trust.KeyFiles,
                    new TrustState(options.Trust.StateDirectory ?? TrustState.DefaultRoot()), options.Log, ct).ConfigureAwait(false);
                reader = reader.WithTrust(trust);
            }
            reader = reader.WithMetadataMaxAge(options.MetadataMaxAge);
            try { await index.ConfigureAwait(false); }
            catch (CircularException) { }
            if (mirrorList is not null)
            {
                try
                {
                    var (list, sig) = await mirrorList.ConfigureAwait(false);
                    MirrorDiscovery.Apply(layers.Http!, list, sig, reader.Trust, options.Log);
                }
                catch (CircularException) { } // unreadable now: the mirrors given are enough to go on with
            }
            var fetcher = new BackendChunkSource(layers.Backend);
            var memory = new MemoryChunkCache(fetcher, ChunkSizes.Max, options.MemoryCacheBytes);
            return new ArchiveClient(options, reader, layers, fetcher, memory);
        }
        catch
        {
            layers.Http?.Dispose();
            layers.Owned?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What opening a remote archive reads, in the order below if read one at a time: circular.json, then the image list,
    /// keys and mirror list, then the first image's refs. Read at once instead, over a WAN that is one round trip
    /// (most of them on new connections) where it was three.
    /// </summary>
    private static IEnumerable<ObjectHandle> MetadataAtOpen(ArchiveClientOptions options, Layers layers)
    {
        yield return ObjectHandle.Config;
        if (layers.Cache is not null) yield return ObjectHandle.ImageIndex;
        if (options.Trust.Enabled) yield return ObjectHandle.KeyList;
        if (layers.Http is not null && options.DiscoverMirrors)
        {
            yield return ObjectHandle.MirrorList;
            yield return ObjectHandle.MirrorList.Signature();
        }
        if (options.FirstImage is { } image) yield return ObjectHandle.Refs(image);
    }

    private sealed record Layers(IArchiveBackend Backend, HttpBackend? Http, DiskCache? Cache, CachingBackend? Caching)
    {
        /// <summary>A backend the options handed over (closed with the client).</summary>
        public IDisposable? Owned { get; init; }
    }

    private static Layers OpenBackend(ArchiveClientOptions options)
    {
        string location = options.Location;
        if (options.Backend is { } given)
        {
            if (options.Mirrors.Count > 0) throw new UsageException("--mirror needs an http(s) archive URL");
            var givenCache = OpenCache(options);
            var cached = givenCache is null ? null : new CachingBackend(given, givenCache, options.Log, options.CacheAs);
            return new Layers(new ReadAheadBackend((IArchiveBackend?)cached ?? given), null, givenCache, cached) { Owned = given as IDisposable };
        }
        if (!ArchiveLocation.IsUrl(location))
        {
            if (options.Mirrors.Count > 0) throw new UsageException("--mirror needs an http(s) archive URL");
            if (!Directory.Exists(location)) throw new NotFoundException($"{location} is not a Circular archive (no such directory)");
            var file = new FileBackend(location);
            if (options.CacheAs is null || OpenCache(options) is not { } filled) return new Layers(file, null, null, null);
            var filling = new CachingBackend(file, filled, options.Log, options.CacheAs);
            return new Layers(filling, null, filled, filling);
        }
        var http = OpenHttp(location, options);
        var cache = OpenCache(options);
        var caching = cache is null ? null : new CachingBackend(http, cache, options.Log, options.CacheAs);
        IArchiveBackend top = (IArchiveBackend?)caching ?? http;
        // Above the cache: what the cache holds (and offline copies of metadata) answers at once; only reads that
        // need the network wait for it.
        if (options.Patience > TimeSpan.Zero) top = new PatientBackend(top, options.Patience, options.Log);
        // On top, so that a read ahead is what a read of its own would have been (cached, patient).
        return new Layers(new ReadAheadBackend(top), http, cache, caching);
    }

    private static HttpBackend OpenHttp(string location, ArchiveClientOptions options)
    {
        if (options.Timeout <= TimeSpan.Zero) throw new UsageException("--timeout must be positive");
        var urls = new[] { location }.Concat(options.Mirrors).Select(u =>
            ArchiveLocation.IsUrl(u) && Uri.TryCreate(u, UriKind.Absolute, out var uri) ? uri : throw new UsageException($"not an http(s) URL: '{u}'"));
        return new HttpBackend(urls, new HttpBackendOptions { Timeout = options.Timeout, Retries = options.Retries });
    }

    /// <summary>The persistent cache the options name, or null for none.</summary>
    public static DiskCache? OpenCache(ArchiveClientOptions options) =>
        options.CacheDirectory is null ? null : new DiskCache(options.CacheDirectory, options.CacheQuota) { Log = options.Log };

    /// <summary>Resolves NAME, NAME@N or NAME@TAG to a version with its verified manifest (<see cref="ArchiveReader.OpenVersionAsync"/>).</summary>
    public Task<ResolvedVersion> OpenVersionAsync(ImageSpec spec, CancellationToken ct) => Reader.OpenVersionAsync(spec, ct);

    /// <summary>The prefetchers of the versions the catalog has opened (one per version with a boot profile).</summary>
    public IReadOnlyCollection<Storage.Prefetch.Prefetcher> Prefetchers => _hotData.Prefetchers;

    /// <summary>One version as a plain read-only image over <see cref="Chunks"/> (no hot data, no overlay): for whole copies.</summary>
    public async Task<ChunkedImage> OpenImageAsync(ImageSpec spec, CancellationToken ct)
    {
        var version = await OpenVersionAsync(spec, ct).ConfigureAwait(false);
        return new ChunkedImage(version.Manifest, Chunks, version.Name);
    }

    /// <summary>Closes the catalog (flushes overlays, stops prefetching, writes a recorded profile), then the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await _archiveCatalog.DisposeAsync().ConfigureAwait(false);
        Http?.Dispose();
        _owned?.Dispose();
    }
}
