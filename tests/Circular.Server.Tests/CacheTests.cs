using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Server.Tests.Support;
using Circular.Storage.Cache;

namespace Circular.Server.Tests;

/// <summary>The persistent disk cache under the HTTP client: quota, LRU, sharing across images, repair.</summary>
public sealed class CacheTests() : FaultServedCacheTest("circ-cache-")
{
    /// <summary>What the cache's files take: its segments (and chunk files of the older layout, none here).</summary>
    private long ChunkBytesOnDisk() =>
        Directory.EnumerateFiles(_cache, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(CacheSegment.Extension, StringComparison.Ordinal) || f.Contains("/chunks/", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f).Length);

    private async Task<HashSet<ChunkId>> ChunksAsync(string image, int version) =>
        (await _archive.ManifestAsync(image, version)).Blocks.Where(b => !b.IsZero).ToHashSet();

    private static string[] Paths(int n, int salt = 0) =>
        Enumerable.Range(1, n).Select(i => ArchiveLayout.ChunkPath(ChunkId.Compute([(byte)i, (byte)(i >> 8), (byte)salt]))).ToArray();

    /// <summary>The size of a segment holding one 100-byte chunk: file header, record header, key, data.</summary>
    private static readonly long OneChunkSegment = SegmentFormat.FileHeaderLength + SegmentFormat.RecordHeaderLength + Paths(1)[0].Length + 100;

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
        Assert.Empty(Directory.EnumerateDirectories(_cache, "chunks")); // nothing in the one-file-per-chunk layout
        // A new process sees the same total.
        Assert.Equal(ChunkBytesOnDisk(), new DiskCache(_cache, quota).Total);
    }

    [Fact]
    public void Lru_evicts_the_least_recently_used_segments_down_to_90_percent()
    {
        // A quota this small makes segments of one chunk each, so segment LRU is chunk LRU here.
        long quota = 5 * OneChunkSegment;
        var cache = new DiskCache(_cache, quota);
        string[] paths = Paths(6);
        for (int i = 0; i < 5; i++) cache.StoreChunk(paths[i], new byte[100]);
        Assert.Equal(quota, cache.Total);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(_cache, DiskCache.SegmentsDir)).Length);
        Assert.NotNull(cache.TryReadChunk(paths[0])); // now the most recently used
        cache.StoreChunk(paths[5], new byte[100]);      // 6 > 5 segments: evict down to 4.5
        Assert.Equal(4 * OneChunkSegment, cache.Total);
        Assert.Equal(4 * OneChunkSegment, ChunkBytesOnDisk());
        var fresh = new DiskCache(_cache, quota);
        Assert.Equal([true, false, false, true, true, true], paths.Select(p => fresh.TryReadChunk(p) is not null));
        Assert.Equal(2, cache.Evicted);
    }

    [Fact]
    public void A_segment_holds_many_chunks_and_is_sealed_at_its_limit()
    {
        var cache = new DiskCache(_cache, quota: 16 * 4096); // segments of about 4 KiB
        string[] paths = Paths(40);
        for (int i = 0; i < paths.Length; i++) cache.StoreChunk(paths[i], Enumerable.Repeat((byte)i, 100).ToArray());
        string[] segments = Directory.GetFiles(Path.Combine(_cache, DiskCache.SegmentsDir));
        Assert.InRange(segments.Length, 2, 4); // 40 x ~187 bytes in ~4 KiB segments
        Assert.Equal(paths.Length, segments.Sum(s => CacheSegment.Records(s).Count));
        var fresh = new DiskCache(_cache, quota: 16 * 4096);
        for (int i = 0; i < paths.Length; i++) Assert.Equal(Enumerable.Repeat((byte)i, 100), fresh.TryReadChunk(paths[i])!);
        Assert.Equal(cache.Total, fresh.Total);
    }

    [Fact]
    public async Task Opening_the_cache_while_another_process_evicts_from_it_skips_the_vanished_segments()
    {
        // Another process sharing the cache deletes segments at any moment, also between this one's directory
        // listing and its reading of each: that window once failed the whole command at start.
        string[] paths = Paths(200);
        var writer = new DiskCache(_cache, quota: 20 * OneChunkSegment);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var evictor = Task.Run(() =>
        {
            for (int round = 0; !stop.IsCancellationRequested; round++)
                foreach (string p in paths) writer.StoreChunk(p, new byte[100]); // evicts as it goes
        });
        int opened = 0;
        while (!stop.IsCancellationRequested)
        {
            var cache = new DiskCache(_cache, quota: 1 << 30);
            Assert.InRange(cache.Total, 0, 40 * OneChunkSegment);
            opened++;
        }
        await evictor;
        Assert.True(opened > 10, $"only {opened} opens in 3 s");
        Assert.True(writer.Evicted > 100);
    }

    [Fact]
    public void Lru_order_survives_a_restart()
    {
        string[] paths = Paths(4);
        var first = new DiskCache(_cache, quota: 10 * OneChunkSegment);
        for (int i = 0; i < 4; i++)
        {
            first.StoreChunk(paths[i], new byte[100]);
            File.SetLastWriteTimeUtc(first.Locate(paths[i])!.Value.File, DateTime.UtcNow.AddHours(-4 + i));
        }
        // A later run uses the oldest one: its use is recorded in its segment's time.
        Assert.NotNull(new DiskCache(_cache, quota: 10 * OneChunkSegment).TryReadChunk(paths[0]));
        var third = new DiskCache(_cache, quota: 3 * OneChunkSegment + OneChunkSegment / 2); // 4 > 3.5: evict one
        Assert.Equal(3 * OneChunkSegment, third.Total);
        Assert.Equal([true, false, true, true], paths.Select(p => third.TryReadChunk(p) is not null));
    }

    [Fact]
    public void Two_processes_sharing_a_cache_see_each_others_chunks()
    {
        var a = new DiskCache(_cache, quota: 1 << 20) { RefreshInterval = TimeSpan.Zero };
        var b = new DiskCache(_cache, quota: 1 << 20) { RefreshInterval = TimeSpan.Zero };
        string[] paths = Paths(10);
        for (int i = 0; i < 5; i++) a.StoreChunk(paths[i], [(byte)i]);
        for (int i = 5; i < 10; i++) b.StoreChunk(paths[i], [(byte)i]);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal([(byte)i], a.TryReadChunk(paths[i])!);
            Assert.Equal([(byte)i], b.TryReadChunk(paths[i])!);
        }
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_cache, DiskCache.SegmentsDir)).Length);
        Assert.Equal(ChunkBytesOnDisk(), new DiskCache(_cache, quota: 1 << 20).Total);
    }

    [Fact]
    public void A_cache_of_the_one_file_per_chunk_layout_is_still_read_and_evicted()
    {
        string[] paths = Paths(3);
        foreach (var (p, i) in paths.Select((p, i) => (p, i)))
        {
            string full = Path.Combine(_cache, p);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, Enumerable.Repeat((byte)i, 100).ToArray());
            File.SetLastWriteTimeUtc(full, DateTime.UtcNow.AddHours(-3 + i));
        }
        var cache = new DiskCache(_cache, quota: 1 << 20);
        Assert.Equal(300, cache.Total);
        for (int i = 0; i < 3; i++) Assert.Equal(Enumerable.Repeat((byte)i, 100), cache.TryReadChunk(paths[i])!);
        // New chunks go to a segment; over the quota, the oldest chunk files go first.
        var small = new DiskCache(_cache, quota: 200 + OneChunkSegment);
        small.StoreChunk(Paths(1, salt: 9)[0], new byte[100]);
        Assert.False(File.Exists(Path.Combine(_cache, paths[0])));
        Assert.Null(small.TryReadChunk(paths[0]));
        Assert.NotNull(small.TryReadChunk(paths[2]));
        Assert.Equal(ChunkBytesOnDisk(), small.Total);
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
    [InlineData("zero")]
    [InlineData("header")]
    [InlineData("truncate")]
    public async Task Damaged_cache_segment_is_detected_and_refetched(string damage)
    {
        await using (var warm = await TestClient.OpenAsync(_server.Url, _cache))
            await TestClient.ReadAllAsync(await warm.OpenImageAsync("os@1"));
        var manifest = await _archive.ManifestAsync("os", 1);
        string victim = ArchiveLayout.ChunkPath(manifest.Blocks[0]);
        var (file, offset, length) = new DiskCache(_cache, DiskCache.DefaultQuota).Locate(victim)!.Value;
        var records = CacheSegment.Records(file);
        var at = records.Single(r => r.Key == victim);
        // Damage to the data costs the one chunk; damage to what locates records (a header, a torn tail) ends the
        // segment there, so the records after it are fetched again too.
        int refetched = damage is "flip" or "zero" ? 1 : records.SkipWhile(r => r.Key != victim).Select(r => r.Key).Distinct().Count();
        byte[] good;
        using (var h = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite))
        {
            good = new byte[length];
            RandomAccess.Read(h, good, offset);
            switch (damage)
            {
                case "flip": RandomAccess.Write(h, Flip(good), offset); break;
                case "zero": RandomAccess.Write(h, new byte[length], offset); break;
                case "header": RandomAccess.Write(h, new byte[] { 0xff }, at.Header + 9); break;
                default: RandomAccess.SetLength(h, offset + length / 2); break;
            }
        }
        int before = _server.ChunkGets;

        await using var client = await TestClient.OpenAsync(_server.Url, _cache);
        Assert.Equal(_archive.Content("os", 1), await TestClient.ReadAllAsync(await client.OpenImageAsync("os@1")));
        Assert.Equal(refetched, _server.ChunkGets - before);
        Assert.Single(_server.Gets(victim).Skip(1));
        Assert.Equal(ChunkBytesOnDisk(), client.Cache.Total);
        // The next run reads the good copy stored again, not the damaged one.
        Assert.Equal(good, new DiskCache(_cache, DiskCache.DefaultQuota).TryReadChunk(victim)!);
        if (damage is "flip" or "zero") Assert.True(CacheSegment.Records(file).Single(r => r.Header == at.Header).Dead);
    }

    private static byte[] Flip(byte[] b)
    {
        var c = (byte[])b.Clone();
        c[c.Length / 2] ^= 0x40;
        return c;
    }
}
