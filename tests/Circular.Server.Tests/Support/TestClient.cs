using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Cache;
using Circular.Storage.Chunks;
using Circular.Storage.Http;

namespace Circular.Server.Tests.Support;

/// <summary>
/// The client read stack as ClientStack composes it for URLs: HttpBackend → CachingBackend (DiskCache) →
/// BackendChunkSource (verify, refetch) → MemoryChunkCache (LRU, single-flight) → ChunkedImage.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    private TestClient(HttpBackend http, DiskCache cache, CachingBackend caching, ArchiveReader reader, BackendChunkSource fetcher, MemoryChunkCache memory)
    {
        Http = http;
        Cache = cache;
        Caching = caching;
        Reader = reader;
        Fetcher = fetcher;
        Memory = memory;
    }

    public HttpBackend Http { get; }
    public DiskCache Cache { get; }
    public CachingBackend Caching { get; }
    public ArchiveReader Reader { get; }
    public BackendChunkSource Fetcher { get; }
    public MemoryChunkCache Memory { get; }

    /// <summary>Short per-request deadline so fault tests finish quickly.</summary>
    public static HttpBackendOptions FastOptions => new() { Timeout = TimeSpan.FromSeconds(1) };

    public static async Task<TestClient> OpenAsync(IEnumerable<Uri> mirrors, string cacheDir, long quota = 1L << 30,
        HttpBackendOptions? options = null, TextWriter? log = null, long memoryBytes = 64L << 20)
    {
        var http = new HttpBackend(mirrors, options ?? FastOptions);
        try
        {
            var cache = new DiskCache(cacheDir, quota);
            var caching = new CachingBackend(http, cache, log ?? TextWriter.Null);
            var reader = await ArchiveReader.OpenAsync(caching, CancellationToken.None).WaitAsync(Limits.Operation);
            var fetcher = new BackendChunkSource(caching);
            var memory = new MemoryChunkCache(fetcher, ChunkSizes.Max, memoryBytes);
            return new TestClient(http, cache, caching, reader, fetcher, memory);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    public static Task<TestClient> OpenAsync(Uri url, string cacheDir, long quota = 1L << 30, HttpBackendOptions? options = null, TextWriter? log = null) =>
        OpenAsync([url], cacheDir, quota, options, log);

    /// <summary>Opens NAME, NAME@VERSION or NAME@TAG.</summary>
    public async Task<ChunkedImage> OpenImageAsync(string spec)
    {
        var s = ImageSpec.Parse(spec);
        var (_, entry, manifest) = await Reader.OpenVersionAsync(s, CancellationToken.None).WaitAsync(Limits.Operation);
        return new ChunkedImage(manifest, Memory, $"{s.Name}@{entry.Version}");
    }

    /// <summary>Reads a whole image in order through ImageCopy (the path `cat` and the server use).</summary>
    public static async Task<byte[]> ReadAllAsync(IBlockImage image, int window = 8)
    {
        using var ms = new MemoryStream();
        await ImageCopy.ToStreamAsync(image, 0, image.Size, ms, window, CancellationToken.None).WaitAsync(Limits.Operation);
        return ms.ToArray();
    }

    public static async Task<byte[]> ReadAsync(IBlockImage image, long offset, int length)
    {
        var buf = new byte[length];
        await image.ReadAsync(offset, buf, CancellationToken.None).AsTask().WaitAsync(Limits.Operation);
        return buf;
    }

    public ValueTask DisposeAsync()
    {
        Http.Dispose();
        return ValueTask.CompletedTask;
    }
}
