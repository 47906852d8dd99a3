using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Cache;
using Circular.Storage.Chunks;
using Circular.Storage.Http;
using Circular.Storage.Trust;

namespace Circular.Cli.Composition;

/// <summary>
/// The read stack, assembled in one place: backend (local directory or HTTP mirrors) → verified chunk fetches →
/// persistent disk cache → in-memory cache with single-flight. Every reading command goes through it.
/// </summary>
public sealed class ClientStack : IAsyncDisposable
{
    private ClientStack(ArchiveReader reader, BackendChunkSource fetcher, IChunkSource chunks, MemoryChunkCache memory, HttpBackend? http, DiskCache? cache)
    {
        Reader = reader;
        Fetcher = fetcher;
        Chunks = chunks;
        Memory = memory;
        Http = http;
        Cache = cache;
    }

    /// <summary>The HTTP layer when reading from URLs (request and byte counters), else null.</summary>
    public HttpBackend? Http { get; }
    /// <summary>The persistent cache when reading from URLs, else null.</summary>
    public DiskCache? Cache { get; }

    public ArchiveReader Reader { get; }

    /// <summary>How long refs and the image index, once read, answer later lookups of the same command.</summary>
    public static readonly TimeSpan MetadataMaxAge = TimeSpan.FromSeconds(5);
    public BackendChunkSource Fetcher { get; }
    public MemoryChunkCache Memory { get; }
    /// <summary>Top of the chunk stack: what images read from.</summary>
    public IChunkSource Chunks { get; }

    public static async Task<ClientStack> OpenAsync(string location, ClientSettings settings, CancellationToken ct)
    {
        IArchiveBackend backend;
        HttpBackend? http = null;
        DiskCache? cache = null;
        if (IsUrl(location))
        {
            http = OpenHttp(location, settings);
            cache = OpenCache(settings);
            backend = cache is null ? http : new CachingBackend(http, cache, System.Console.Error);
        }
        else
        {
            if (settings.Mirrors.Length > 0) throw new UsageException("--mirror needs an http(s) archive URL");
            if (!Directory.Exists(location)) throw new NotFoundException($"{location} is not a Circular archive (no such directory)");
            backend = new FileBackend(location);
        }
        var reader = await ArchiveReader.OpenAsync(backend, ct).ConfigureAwait(false);
        // The image list, read alongside the trust set-up while online, is then in the cache for offline listings
        // (mount and nbd list images at start). Its failure is not this command's: whoever needs the list reads it again.
        var index = cache is null ? Task.CompletedTask : reader.ListImagesAsync(ct);
        var trust = await TrustSetup.ResolveAsync(backend, TrustSetup.NormalizeLocation(location), settings.TrustKeys,
            new TrustState(settings.TrustStateDir ?? TrustState.DefaultRoot()), System.Console.Error, ct).ConfigureAwait(false);
        // One command is one view of the archive: refs and images.json read once serve its later lookups for a few seconds
        // (nbd and mount looked them up again for every connection; a version pushed meanwhile shows within that time).
        reader = reader.WithTrust(trust).WithMetadataMaxAge(MetadataMaxAge);
        try { await index.ConfigureAwait(false); }
        catch (CircularException) { }
        var fetcher = new BackendChunkSource(backend);
        var memory = new MemoryChunkCache(fetcher, Core.Chunks.ChunkSizes.Max, 64L << 20);
        return new ClientStack(reader, fetcher, memory, memory, http, cache);
    }

    public static HttpBackend OpenHttp(string location, ClientSettings settings)
    {
        var urls = new[] { location }.Concat(settings.Mirrors).Select(u =>
            IsUrl(u) && Uri.TryCreate(u, UriKind.Absolute, out var uri) ? uri : throw new UsageException($"not an http(s) URL: '{u}'"));
        if (settings.Timeout <= TimeSpan.Zero) throw new UsageException("--timeout must be positive");
        return new HttpBackend(urls, new HttpBackendOptions { Timeout = settings.Timeout });
    }

    public static DiskCache? OpenCache(ClientSettings settings)
    {
        if (settings.CacheDir is "none") return null;
        long quota = settings.CacheSize is { } q ? Core.Chunks.ByteSize.Parse(q) : DiskCache.DefaultQuota;
        return new DiskCache(settings.CacheDir ?? DiskCache.DefaultRoot(), quota) { Log = System.Console.Error };
    }

    public static bool IsUrl(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens one version as a block image.</summary>
    public async Task<ChunkedImage> OpenImageAsync(ImageSpec spec, CancellationToken ct)
    {
        var (_, entry, manifest) = await Reader.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        return new ChunkedImage(manifest, Chunks, $"{spec.Name}@{entry.Version}");
    }

    public ValueTask DisposeAsync()
    {
        Http?.Dispose();
        return ValueTask.CompletedTask;
    }
}
