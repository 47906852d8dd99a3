using Circular.Client;
using Circular.Core.Archive;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Cache;
using Circular.Storage.Chunks;
using Circular.Storage.Http;

namespace Circular.Server.Tests.Support;

/// <summary>
/// The client read stack exactly as the CLI builds it (<see cref="ArchiveClient.OpenAsync"/>) for a URL archive,
/// with a private cache and trust state, and its layers exposed for assertions.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly ArchiveClient _client;

    private TestClient(ArchiveClient client) => _client = client;

    public ArchiveClient Client => _client;
    public HttpBackend Http => _client.Http!;
    public DiskCache Cache => _client.Cache!;
    public CachingBackend Caching => _client.Caching!;
    public ArchiveReader Reader => _client.Reader;
    public BackendChunkSource Fetcher => _client.Fetcher;
    public MemoryChunkCache Memory => _client.Memory;

    /// <summary>Short per-request deadline so fault tests finish quickly.</summary>
    public static HttpBackendOptions FastOptions => new() { Timeout = TimeSpan.FromSeconds(1) };

    /// <summary>
    /// The default for tests that count requests: a deadline a loaded CI machine never reaches, so no attempt is
    /// retried (with 1 s, one slow answer under load was retried and counted twice).
    /// </summary>
    public static HttpBackendOptions PatientOptions => new() { Timeout = TimeSpan.FromSeconds(20) };

    public static async Task<TestClient> OpenAsync(IEnumerable<Uri> mirrors, string cacheDir, long quota = 1L << 30,
        HttpBackendOptions? options = null, TestLog? log = null, long memoryBytes = 64L << 20)
    {
        var urls = mirrors.Select(u => u.ToString().TrimEnd('/')).ToList();
        var http = options ?? PatientOptions;
        var client = await ArchiveClient.OpenAsync(new ArchiveClientOptions {
            Location = urls[0],
            Mirrors = urls.Skip(1).ToList(),
            Timeout = http.Timeout,
            Retries = http.Retries,
            CacheDirectory = cacheDir,
            CacheQuota = quota,
            MemoryCacheBytes = memoryBytes,
            Trust = new TrustOptions { StateDirectory = cacheDir + "-trust" },
            Log = log ?? new TestLog(),
        }, CancellationToken.None).WaitAsync(Limits.Operation);
        return new TestClient(client);
    }

    public static Task<TestClient> OpenAsync(Uri url, string cacheDir, long quota = 1L << 30, HttpBackendOptions? options = null, TestLog? log = null) =>
        OpenAsync([url], cacheDir, quota, options, log);

    /// <summary>Opens NAME, NAME@VERSION or NAME@TAG.</summary>
    public async Task<ChunkedImage> OpenImageAsync(string spec) =>
        await _client.OpenImageAsync(ImageSpec.Parse(spec), CancellationToken.None).WaitAsync(Limits.Operation);

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

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
