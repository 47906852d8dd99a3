using System.Diagnostics;
using Circular.Core.Archive;
using Circular.Server.Tests.Support;
using Circular.Storage.Backends;

namespace Circular.Server.Tests;

/// <summary>With the server gone, what is cached still reads; anything else fails at once with a clear error.</summary>
[Collection(TimingCollection.Name)]
public sealed class OfflineTests : IAsyncLifetime
{
    private ServedArchive _served = null!;
    private readonly string _cache = Scratch.NewReadableDir("circ-cache-");
    private bool _stopped;

    public async Task InitializeAsync() => _served = await ServedArchive.StartAsync();

    public async Task DisposeAsync()
    {
        if (!_stopped) await _served.DisposeAsync();
        else _served.Archive.Dispose();
        Scratch.Delete(_cache);
    }

    private async Task StopServerAsync()
    {
        await _served.Server.DisposeAsync();
        _stopped = true;
    }

    [Fact]
    public async Task Warm_cache_reads_the_whole_image_with_the_server_stopped()
    {
        byte[] expected = _served.Archive.Content("os", 2);
        await using (var warm = await TestClient.OpenAsync(_served.Url, _cache))
            Assert.Equal(expected, await TestClient.ReadAllAsync(await warm.OpenImageAsync("os")));
        await StopServerAsync();

        var log = new TestLog();
        var clock = Stopwatch.StartNew();
        await using var offline = await TestClient.OpenAsync(_served.Url, _cache, log: log);
        Assert.Equal(expected, await TestClient.ReadAllAsync(await offline.OpenImageAsync("os")));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.True(offline.Caching.WentOffline);
        Assert.Contains("offline", log.ToString());
        Assert.Equal(0, offline.Fetcher.Fetched - offline.Cache.Hits); // every chunk came from the cache
    }

    [Fact]
    public async Task Uncached_chunk_offline_fails_fast_naming_it()
    {
        byte[] expected = _served.Archive.Content("os", 1);
        int half = expected.Length / 2;
        await using (var warm = await TestClient.OpenAsync(_served.Url, _cache))
            Assert.Equal(expected[..half], await TestClient.ReadAsync(await warm.OpenImageAsync("os@1"), 0, half));
        await StopServerAsync();

        await using var offline = await TestClient.OpenAsync(_served.Url, _cache);
        var img = await offline.OpenImageAsync("os@1");
        Assert.Equal(expected[..half], await TestClient.ReadAsync(img, 0, half));
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<BackendUnavailableException>(() => TestClient.ReadAsync(img, expected.Length - 100, 100));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(9)); // under one 10 s request timeout: it waited for none
        Assert.Contains(ArchiveLayout.ChunkPath(img.Manifest.Blocks[^1]), e.Message);
        Assert.Contains(_served.Url.AbsoluteUri.TrimEnd('/'), e.Message);
    }

    [Fact]
    public async Task Never_seen_archive_offline_fails_fast()
    {
        await StopServerAsync();
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<BackendUnavailableException>(() => TestClient.OpenAsync(_served.Url, _cache));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(9)); // under one 10 s request timeout: it waited for none
    }
}
