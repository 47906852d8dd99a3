using System.Diagnostics;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Server.Tests.Support;
using Circular.Storage.Backends;
using Circular.Storage.Http;

namespace Circular.Server.Tests;

/// <summary>
/// Misbehaving servers: reads return the right bytes (retries, failover) or fail cleanly and in bounded time
/// with an error naming what could not be read — never wrong bytes, never a hang.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class FaultInjectionTests : IAsyncLifetime
{
    private TestArchive _archive = null!;
    private readonly string _cache = Scratch.NewReadableDir("circ-cache-");
    private readonly List<FaultServer> _servers = [];

    public async Task InitializeAsync() => _archive = await TestArchive.CreateStandardAsync();

    public async Task DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
        _archive.Dispose();
        Scratch.Delete(_cache);
    }

    private async Task<FaultServer> ServerAsync(string? root = null)
    {
        var s = await FaultServer.StartAsync(root ?? _archive.Root);
        _servers.Add(s);
        return s;
    }

    // A deadline a loaded machine never reaches, so that request counts are exact; the tests of stalls, which need
    // the deadline to fire, take StallOptions. Mirrors that must rank apart differ by 200 ms, beyond the noise of a
    // loaded machine (a ranking rests on one probe sample per mirror).
    private static HttpBackendOptions Options(int retries = 2) => TestClient.PatientOptions with { Retries = retries };
    private static HttpBackendOptions StallOptions(int retries = 2) => TestClient.FastOptions with { Retries = retries };

    private async Task<List<ObjectHandle>> DistinctChunkHandlesAsync(string image, int version) =>
        (await _archive.ManifestAsync(image, version)).Blocks.Where(b => !b.IsZero).Distinct().Select(ObjectHandle.Chunk).ToList();

    private async Task<int> DistinctChunksAsync(string image, int version) => (await DistinctChunkHandlesAsync(image, version)).Count;

    [Fact]
    public async Task Http_500s_are_retried_and_the_read_is_exact()
    {
        var s = await ServerAsync();
        s.Faults.FailNext = 2;
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: Options());
        var img = await client.OpenImageAsync("os@1");
        Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(img));
        Assert.Equal(await DistinctChunksAsync("os", 1) + 2, s.ChunkGets);
    }

    [Fact]
    public async Task Persistent_500s_fail_with_BackendUnavailableException_naming_the_chunk()
    {
        var s = await ServerAsync();
        s.Faults.FailAll = true;
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: Options());
        var img = await client.OpenImageAsync("os@1");
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<BackendUnavailableException>(() => TestClient.ReadAsync(img, 100, 1000));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Contains(ArchiveLayout.ChunkPath(img.Manifest.Blocks[0]), e.Message);
        Assert.Contains("500", e.Message);
        Assert.Equal(3, s.ChunkGets); // the first try and two retries
    }

    [Fact]
    public async Task Truncated_bodies_are_retried_and_the_read_is_exact()
    {
        var s = await ServerAsync();
        s.Faults.TruncateNext = 3;
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: Options());
        var img = await client.OpenImageAsync("os@2");
        Assert.Equal(_archive.Content("os", 2), await TestClient.ReadAllAsync(img));
        Assert.Equal(0, client.Fetcher.CorruptCopies); // a short body is a transport error, never handed up as data
    }

    [Fact]
    public async Task Always_truncated_bodies_fail_cleanly()
    {
        var s = await ServerAsync();
        s.Faults.TruncateAll = true;
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: Options());
        var img = await client.OpenImageAsync("os@1");
        var e = await Assert.ThrowsAsync<BackendUnavailableException>(() => TestClient.ReadAsync(img, 0, 10));
        Assert.Contains(ArchiveLayout.ChunkPath(img.Manifest.Blocks[0]), e.Message);
        Assert.Equal(0, client.Fetcher.CorruptCopies);
    }

    [Theory]
    [InlineData(StallMode.BeforeHeaders)]
    [InlineData(StallMode.MidBody)]
    public async Task Stalled_server_fails_within_the_configured_timeout(StallMode mode)
    {
        var s = await ServerAsync();
        s.Faults.Stall = mode;
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: StallOptions(retries: 1));
        var img = await client.OpenImageAsync("os@1");
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<BackendUnavailableException>(() => TestClient.ReadAsync(img, 0, 10));
        // Two attempts of 1 s each plus a short backoff.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(15)); // the lower bound is the point
        Assert.Contains("within 1 s", e.Message);
        Assert.Contains(ArchiveLayout.ChunkPath(img.Manifest.Blocks[0]), e.Message);
    }

    [Fact]
    public async Task Stalled_mirror_fails_over_to_the_other()
    {
        var stalled = await ServerAsync();
        var good = await ServerAsync();
        stalled.Faults.Stall = StallMode.BeforeHeaders;
        await using var client = await TestClient.OpenAsync([stalled.Url, good.Url], _cache, options: StallOptions());
        var img = await client.OpenImageAsync("os@1");
        var clock = Stopwatch.StartNew();
        Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(img));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        Assert.Equal(await DistinctChunksAsync("os", 1), good.ChunkGets);
    }

    [Fact]
    public async Task Corrupt_chunk_is_refetched_from_the_other_mirror_with_no_cache()
    {
        var bad = await ServerAsync();
        var good = await ServerAsync(_archive.CopyTo("mirror2"));
        good.Faults.Delay = TimeSpan.FromMilliseconds(200); // the corrupt mirror is the faster one, so it is asked first
        string victim = await _archive.ChunkPathAsync("os", 1, 6);
        bad.Faults.Corrupt[victim] = 0;
        await using (var client = await TestClient.OpenAsync([good.Url, bad.Url], _cache, options: Options()))
        {
            var img = await client.OpenImageAsync("os@1");
            Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(img));
            Assert.Equal(1, client.Fetcher.CorruptCopies);
        }
        var first = Assert.Single(bad.Gets(victim));
        Assert.Null(first.Header("Cache-Control"));
        var refetch = Assert.Single(good.Gets(victim));
        Assert.Contains("no-cache", refetch.Header("Cache-Control"));
        Assert.True(bad.ChunkGets > good.ChunkGets, "the faster mirror should have served most chunks");

        // The good copy is what the cache kept: the corrupt mirror alone now reads correctly from the cache.
        await using var again = await TestClient.OpenAsync(bad.Url, _cache, options: Options());
        Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(await again.OpenImageAsync("os@1")));
        // circular.json, keys.json (trust set-up), images.json (kept for offline listings), mirrors.json and its signature
        // (mirror discovery), refs.json and the manifest (metadata is cached per archive URL, and this is another URL): no chunk.
        Assert.Equal(7, again.Http.Requests);
        Assert.Single(bad.Gets(victim));
    }

    [Fact]
    public async Task Corrupt_chunk_on_every_mirror_fails_with_ChunkIntegrityException_naming_it()
    {
        var m1 = await ServerAsync();
        var m2 = await ServerAsync(_archive.CopyTo("mirror2"));
        var manifest = await _archive.ManifestAsync("os", 1);
        string victim = ArchiveLayout.ChunkPath(manifest.Blocks[2]);
        m1.Faults.Corrupt[victim] = 0;
        m2.Faults.Corrupt[victim] = 0;
        await using var client = await TestClient.OpenAsync([m1.Url, m2.Url], _cache, options: Options());
        var img = await client.OpenImageAsync("os@1");
        var e = await Assert.ThrowsAsync<ChunkIntegrityException>(() => TestClient.ReadAsync(img, 2L * _archive.ChunkSize + 5, 100));
        Assert.Equal(manifest.Blocks[2], e.Id);
        Assert.Contains(manifest.Blocks[2].ToHex(), e.Message);
        var asked = m1.Gets(victim).Concat(m2.Gets(victim)).ToList();
        Assert.True(asked.Count >= 2 && m1.Gets(victim).Count > 0 && m2.Gets(victim).Count > 0, "both mirrors should have been asked");
        Assert.Single(asked, r => r.Header("Cache-Control") is null); // every refetch bypasses caches
        // Other blocks still read correctly.
        Assert.Equal(_archive.Content("os", 1)[..1000], await TestClient.ReadAsync(img, 0, 1000));
    }

    [Fact]
    public async Task Mirror_going_away_mid_read_fails_over_to_the_other()
    {
        var leaving = await ServerAsync();
        var staying = await ServerAsync(_archive.CopyTo("mirror2"));
        staying.Faults.Delay = TimeSpan.FromMilliseconds(200);
        leaving.Faults.Delay = TimeSpan.FromMilliseconds(5);
        StallAfter(leaving, 8);
        await using var client = await TestClient.OpenAsync([leaving.Url, staying.Url], _cache, options: Options());
        var img = await client.OpenImageAsync("os@2");
        var read = TestClient.ReadAllAsync(img, window: 2);
        await WaitUntilAsync(() => leaving.ChunkGets > 8 || read.IsCompleted);
        Assert.False(read.IsCompleted, "the read finished before the mirror went away; the test proves nothing");
        await leaving.DisposeAsync();
        Assert.Equal(_archive.Content("os", 2), await read);
        Assert.True(staying.ChunkGets > 0);
    }

    [Fact]
    public async Task Only_mirror_going_away_mid_read_fails_cleanly()
    {
        var s = await ServerAsync();
        s.Faults.Delay = TimeSpan.FromMilliseconds(10);
        StallAfter(s, 8);
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: Options());
        var img = await client.OpenImageAsync("os@1");
        var read = TestClient.ReadAllAsync(img, window: 2);
        await WaitUntilAsync(() => s.ChunkGets > 8 || read.IsCompleted);
        Assert.False(read.IsCompleted, "the read finished before the mirror went away; the test proves nothing");
        var clock = Stopwatch.StartNew();
        await s.DisposeAsync();
        await Assert.ThrowsAsync<BackendUnavailableException>(() => read);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_fastest_mirror_gets_most_requests()
    {
        var slow = await ServerAsync();
        var fast = await ServerAsync(_archive.CopyTo("mirror2"));
        slow.Faults.Delay = TimeSpan.FromMilliseconds(200);
        // The slow mirror is named first: preference must come from measured round trips, not from order.
        await using var client = await TestClient.OpenAsync([slow.Url, fast.Url], _cache, options: Options());
        Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(await client.OpenImageAsync("os@1")));
        Assert.Equal(_archive.Content("tools", 1), await TestClient.ReadAllAsync(await client.OpenImageAsync("tools@1")));
        int total = slow.ChunkGets + fast.ChunkGets;
        Assert.True(fast.ChunkGets >= total * 0.8, $"fast mirror served {fast.ChunkGets} of {total} chunks");
        var rtt = client.Http.Mirrors.ToDictionary(m => m.BaseUri);
        Assert.True(rtt[fast.Url].RttMs < rtt[slow.Url].RttMs);
    }

    [Fact]
    public async Task Reads_that_start_together_all_wait_for_the_mirrors_to_be_ranked()
    {
        var slow = await ServerAsync();
        var fast = await ServerAsync(_archive.CopyTo("mirror-together"));
        slow.Faults.Delay = TimeSpan.FromMilliseconds(150);
        using var http = new HttpBackend([slow.Url, fast.Url], Options());
        var chunks = (await DistinctChunkHandlesAsync("os", 1)).Take(8).ToList();
        // As an open's metadata is read now: at once, before any read has ranked the mirrors. None may go to the
        // slow mirror merely for being named first.
        var reads = await Task.WhenAll(chunks.Select(c => http.TryReadAsync(c, ReadHints.None, CancellationToken.None)));
        Assert.All(reads, Assert.NotNull);
        Assert.Equal(0, slow.ChunkGets);
        Assert.Equal(chunks.Count, fast.ChunkGets);
    }

    [Fact]
    public async Task Round_trips_that_include_a_connection_setup_do_not_rank_a_near_mirror_behind_a_far_one()
    {
        var near = await ServerAsync();
        var far = await ServerAsync(_archive.CopyTo("mirror-setup"));
        // Each new connection to the near mirror costs 400 ms (as a handshake over a long path would); every answer
        // of the far one takes 200 ms. Over connections already open the near one is the nearer.
        near.Faults.ConnectionSetupDelay = TimeSpan.FromMilliseconds(400);
        far.Faults.Delay = TimeSpan.FromMilliseconds(200);
        using var http = new HttpBackend([near.Url, far.Url], Options());
        var chunks = await DistinctChunkHandlesAsync("os", 1);
        Assert.True(chunks.Count >= 12, $"{chunks.Count} chunks");
        // Eight reads at once, as an open's are: all go to the near mirror, seven of them on new connections.
        var burst = await Task.WhenAll(chunks.Take(8).Select(c => http.TryReadAsync(c, ReadHints.None, CancellationToken.None)));
        Assert.All(burst, Assert.NotNull);
        Assert.Equal(8, near.ChunkGets);
        // The reads after it still go to the near mirror: the burst's times measured the setups, not the mirror.
        foreach (var c in chunks.Skip(8).Take(4)) Assert.NotNull(await http.TryReadAsync(c, ReadHints.None, CancellationToken.None));
        var rtt = http.Mirrors.ToDictionary(m => m.BaseUri, m => m.RttMs);
        Assert.True(rtt[near.Url] < rtt[far.Url], $"near {rtt[near.Url]:0} ms, far {rtt[far.Url]:0} ms");
        Assert.Equal(12, near.ChunkGets);
        Assert.Equal(0, far.ChunkGets);
    }

    [Fact]
    public async Task Failing_fast_mirror_is_failed_over_and_failed_back_to_once_it_recovers()
    {
        var fast = await ServerAsync();
        var slow = await ServerAsync(_archive.CopyTo("mirror-fb"));
        slow.Faults.Delay = TimeSpan.FromMilliseconds(200);
        using var http = new HttpBackend([slow.Url, fast.Url], Options(retries: 1));
        var chunk = ObjectHandle.Chunk((await _archive.ManifestAsync("os", 1)).Blocks.First(b => !b.IsZero));
        async Task<(int Fast, int Slow)> ReadAsync(int n)
        {
            int f0 = fast.ChunkGets, s0 = slow.ChunkGets;
            for (int i = 0; i < n; i++) Assert.NotNull(await http.TryReadAsync(chunk, ReadHints.None, CancellationToken.None));
            return (fast.ChunkGets - f0, slow.ChunkGets - s0);
        }

        var healthy = await ReadAsync(10);
        Assert.True(healthy.Fast >= 9, $"the fast mirror served {healthy.Fast} of 10 while healthy");
        fast.Faults.FailAll = true;
        var failing = await ReadAsync(10);
        Assert.True(failing.Slow >= 9, $"the slow mirror served {failing.Slow} of 10 while the fast one failed");
        fast.Faults.FailAll = false;
        // Back to the fast mirror once its failure window (1 s, doubling) has passed: no restart, no manual step.
        var clock = Stopwatch.StartNew();
        (int Fast, int Slow) recovered = default;
        while (clock.Elapsed < TimeSpan.FromSeconds(40))
        {
            recovered = await ReadAsync(10);
            if (recovered.Fast >= 9) break;
            await Task.Delay(200);
        }
        Assert.True(recovered.Fast >= 9, $"no fail-back within {clock.Elapsed.TotalSeconds:0} s: the recovered fast mirror served {recovered.Fast} of 10");
    }

    [Fact]
    public async Task Requests_identify_the_client_and_do_not_bypass_caches_normally()
    {
        var s = await ServerAsync();
        await using var client = await TestClient.OpenAsync(s.Url, _cache, options: Options());
        await TestClient.ReadAllAsync(await client.OpenImageAsync("tools@1"));
        Assert.All(s.Log, r => Assert.StartsWith("circular/", r.Header("User-Agent")));
        Assert.All(s.Log, r => Assert.Null(r.Header("Cache-Control")));
    }

    /// <summary>
    /// Chunk requests after the first <paramref name="served"/> are held until the server goes away, so a read is
    /// mid-way when it does however fast the machine is (a free-running read once finished before a 5 ms poll saw it).
    /// </summary>
    private static void StallAfter(FaultServer server, int served)
    {
        int seen = 0;
        server.Faults.Applies = p => p.StartsWith("chunks/", StringComparison.Ordinal) && Interlocked.Increment(ref seen) > served;
        server.Faults.Stall = StallMode.BeforeHeaders;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException("condition not reached in 20 s");
            await Task.Delay(5);
        }
    }
}
