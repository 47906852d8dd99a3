using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Server.Tests.Support;
using Circular.Storage.Cache;

namespace Circular.Server.Tests;

/// <summary>The persistent disk cache under the HTTP client: quota, LRU, sharing across images, repair.</summary>
public sealed class CacheTests() : FaultServedCacheTest("circ-cache-")
{
    private long ChunkBytesOnDisk() =>
        Directory.EnumerateFiles(Path.Combine(_cache, "chunks"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private async Task<HashSet<ChunkId>> ChunksAsync(string image, int version) =>
        (await _archive.ManifestAsync(image, version)).Blocks.Where(b => !b.IsZero).ToHashSet();

    [Fact]
    public async Task Quota_is_respected_and_the_files_on_disk_agree()
    {
        const long quota = 400 * 1024; // about six random 64 KiB chunks; os@1 has far more
        await using var client = await TestClient.OpenAsync([_server.Url], _cache, quota, memoryBytes: 0);
        foreach (var spec in new[] { "os@1", "os@2", "tools@1" })
        {
            var (name, version) = (spec[..spec.IndexOf('@')], int.Parse(spec[(spec.IndexOf('@') + 1)..]));
            Assert.Equal(_archive.Content(name, version), await TestClient.ReadAllAsync(await client.OpenImageAsync(spec)));
            Assert.InRange(client.Cache.Total, 1, quota);
            Assert.Equal(client.Cache.Total, ChunkBytesOnDisk());
        }
        Assert.True(client.Cache.Evicted > 0);
        // A new process sees the same total.
        Assert.Equal(ChunkBytesOnDisk(), new DiskCache(_cache, quota).Total);
    }

    [Fact]
    public void Lru_evicts_the_least_recently_used_down_to_90_percent()
    {
        var cache = new DiskCache(_cache, quota: 500);
        string[] paths = Enumerable.Range(1, 6).Select(i => ArchiveLayout.ChunkPath(ChunkId.Compute([(byte)i]))).ToArray();
        for (int i = 0; i < 5; i++) cache.StoreChunk(paths[i], new byte[100]);
        Assert.Equal(500, cache.Total);
        Assert.NotNull(cache.TryReadChunk(paths[0])); // now the most recently used
        cache.StoreChunk(paths[5], new byte[100]);      // 600 > 500: evict down to 450
        Assert.Equal(400, cache.Total);
        bool[] present = paths.Select(p => File.Exists(Path.Combine(_cache, p))).ToArray();
        Assert.Equal([true, false, false, true, true, true], present);
        Assert.Equal(2, cache.Evicted);
    }

    [Fact]
    public async Task Opening_the_cache_while_another_process_evicts_from_it_skips_the_vanished_chunks()
    {
        // Another process sharing the cache deletes chunk files at any moment, also between this one's directory
        // listing and its stat of each entry: that window once failed the whole command at start.
        string[] paths = Enumerable.Range(1, 200).Select(i => ArchiveLayout.ChunkPath(ChunkId.Compute([(byte)i, (byte)(i >> 8)]))).ToArray();
        var writer = new DiskCache(_cache, quota: 1 << 30);
        foreach (string p in paths) writer.StoreChunk(p, new byte[10]);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var evictor = Task.Run(() =>
        {
            for (int round = 0; !stop.IsCancellationRequested; round++)
                foreach (string p in paths.Where((_, i) => i % 2 == round % 2))
                {
                    File.Delete(Path.Combine(_cache, p));
                    writer.StoreChunk(p, new byte[10]);
                }
        });
        int opened = 0;
        while (!stop.IsCancellationRequested)
        {
            var cache = new DiskCache(_cache, quota: 1 << 30);
            Assert.InRange(cache.Total, 0, paths.Length * 10);
            opened++;
        }
        await evictor;
        Assert.True(opened > 10, $"only {opened} opens in 3 s");
    }

    [Fact]
    public void Lru_order_survives_a_restart()
    {
        string[] paths = Enumerable.Range(1, 4).Select(i => ArchiveLayout.ChunkPath(ChunkId.Compute([(byte)i]))).ToArray();
        var first = new DiskCache(_cache, quota: 10_000);
        for (int i = 0; i < 4; i++)
        {
            first.StoreChunk(paths[i], new byte[100]);
            File.SetLastWriteTimeUtc(Path.Combine(_cache, paths[i]), DateTime.UtcNow.AddHours(-4 + i));
        }
        // A later run uses the oldest one: its use is recorded in the file's time.
        Assert.NotNull(new DiskCache(_cache, quota: 10_000).TryReadChunk(paths[0]));
        var third = new DiskCache(_cache, quota: 350); // 400 bytes > 350: evict down to 315, i.e. one file
        Assert.Equal(300, third.Total);
        Assert.Equal([true, false, true, true], paths.Select(p => File.Exists(Path.Combine(_cache, p))));
    }

    [Fact]
    public async Task Chunks_shared_across_images_and_versions_are_cache_hits()
    {
        var os1 = await ChunksAsync("os", 1);
        var tools = await ChunksAsync("tools", 1);
        var os2 = await ChunksAsync("os", 2);
        await using (var c1 = await TestClient.OpenAsync(_server.Url, _cache))
        {
            Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(await c1.OpenImageAsync("os@1")));
            Assert.Equal(os1.Count, _server.ChunkGets); // a chunk repeated in the image is downloaded once
        }
        int before = _server.ChunkGets;
        // New client stacks (empty memory caches), same cache directory.
        await using (var c2 = await TestClient.OpenAsync(_server.Url, _cache))
        {
            Assert.Equal(_archive.Content("tools", 1), await TestClient.ReadAllAsync(await c2.OpenImageAsync("tools@1")));
            Assert.Equal(tools.Except(os1).Count(), _server.ChunkGets - before);
            Assert.InRange(c2.Cache.Hits, tools.Intersect(os1).Count(), long.MaxValue); // every shared chunk came from disk
        }
        before = _server.ChunkGets;
        await using var c3 = await TestClient.OpenAsync(_server.Url, _cache);
        Assert.Equal(_archive.Content("os", 2), await TestClient.ReadAllAsync(await c3.OpenImageAsync("os@2")));
        Assert.Equal(os2.Except(os1).Except(tools).Count(), _server.ChunkGets - before);
        Assert.True(os2.Except(os1).Any() && os2.Intersect(os1).Any(), "fixture: os@2 must share some chunks with os@1 and add some");
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("empty")]
    [InlineData("swap")]
    public async Task Damaged_cache_file_is_detected_and_refetched(string damage)
    {
        await using (var warm = await TestClient.OpenAsync(_server.Url, _cache))
            await TestClient.ReadAllAsync(await warm.OpenImageAsync("os@1"));
        var manifest = await _archive.ManifestAsync("os", 1);
        string victim = ArchiveLayout.ChunkPath(manifest.Blocks[0]);
        string file = Path.Combine(_cache, victim);
        byte[] good = await File.ReadAllBytesAsync(file);
        byte[] bad = damage switch {
            "flip" => Flip(good),
            "truncate" => good[..(good.Length / 2)],
            "empty" => [],
            _ => await File.ReadAllBytesAsync(Path.Combine(_cache, ArchiveLayout.ChunkPath(manifest.Blocks[1]))), // another valid chunk
        };
        await File.WriteAllBytesAsync(file, bad);
        int before = _server.ChunkGets;

        await using var client = await TestClient.OpenAsync(_server.Url, _cache);
        Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(await client.OpenImageAsync("os@1")));
        Assert.Equal(1, _server.ChunkGets - before);
        Assert.Single(_server.Gets(victim).Skip(1));
        Assert.Equal(good, await File.ReadAllBytesAsync(file));
        Assert.Equal(ChunkBytesOnDisk(), client.Cache.Total);
    }

    private static byte[] Flip(byte[] b)
    {
        var c = (byte[])b.Clone();
        c[c.Length / 2] ^= 0x40;
        return c;
    }
}
