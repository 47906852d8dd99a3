using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Server.Tests.Support;
using Circular.Storage.Backends;
using Circular.Storage.Cache;

namespace Circular.Server.Tests;

/// <summary>
/// The pooled read path (IArchiveBackend.TryReadPooledAsync) gives the same bytes as the array path, from a mirror
/// and from the disk cache, and the cache's chunk writes stay safe: temporaries never count, a cleared cache keeps
/// working, a miss costs no exception.
/// </summary>
public sealed class PooledReadTests() : FaultServedCacheTest("circ-pooled-")
{
    private async Task<ObjectHandle[]> ChunkPathsAsync() =>
        (await _archive.ManifestAsync("os", 1)).Blocks.Where(b => !b.IsZero).Distinct().Select(ObjectHandle.Chunk).ToArray();

    [Fact]
    public async Task Pooled_reads_give_the_files_bytes_from_the_mirror_and_from_the_cache()
    {
        await using var client = await TestClient.OpenAsync(_server.Url, _cache);
        foreach (var path in (await ChunkPathsAsync()).Take(8))
        {
            byte[] file = await File.ReadAllBytesAsync(Path.Combine(_archive.Root, path.Path));
            using (var remote = await client.Http.TryReadPooledAsync(path, ReadHints.None, CancellationToken.None))
                Assert.Equal(file, remote!.Data.ToArray());
            using (var fetched = await client.Caching.TryReadPooledAsync(path, ReadHints.None, CancellationToken.None)) // miss: fetched, stored
            {
                Assert.Equal(file, fetched!.Data.ToArray());
                Assert.DoesNotContain(CachingBackend.CacheSourcePrefix, fetched.Source, StringComparison.Ordinal);
            }
            using (var cached = await client.Caching.TryReadPooledAsync(path, ReadHints.None, CancellationToken.None)) // hit
            {
                Assert.Equal(file, cached!.Data.ToArray());
                Assert.StartsWith(CachingBackend.CacheSourcePrefix, cached.Source, StringComparison.Ordinal);
            }
            Assert.Equal(file, (await client.Caching.TryReadAsync(path, ReadHints.None, CancellationToken.None))!.Data);
        }
        Assert.Null(await client.Caching.TryReadPooledAsync(ObjectHandle.Chunk(default), ReadHints.None, CancellationToken.None));
    }

    [Fact]
    public async Task A_backend_without_a_pooled_path_gets_the_default_one()
    {
        IArchiveBackend local = new FileBackend(_archive.Root);
        var path = (await ChunkPathsAsync())[0];
        using var obj = await local.TryReadPooledAsync(path, ReadHints.None, CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_archive.Root, path.Path)), obj!.Data.ToArray());
        Assert.Null(await local.TryReadPooledAsync(ObjectHandle.Chunk(default), ReadHints.None, CancellationToken.None));
    }

    [Fact]
    public void A_disposed_pooled_object_cannot_be_read_and_disposing_twice_is_harmless()
    {
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(100);
        var obj = PooledObject.FromRented(rented, 10, "test");
        Assert.Equal(10, obj.Data.Length);
        Assert.Equal(10, obj.ToBackendObject().Data.Length); // an exact copy, not the rented array
        obj.Dispose();
        obj.Dispose();
        Assert.Throws<ObjectDisposedException>(() => obj.Data);
        byte[] plain = [1, 2, 3];
        using var wrapped = PooledObject.Wrap(new BackendObject(plain, "test"));
        Assert.Same(plain, wrapped.ToBackendObject().Data); // not pooled and exact: no copy
    }

    [Fact]
    public void A_chunk_write_interrupted_by_a_crash_leaves_only_a_temporary_that_is_never_read_and_is_cleaned_up()
    {
        string path = ArchiveLayout.ChunkPath(ChunkId.Compute([42]));
        string full = Path.Combine(_cache, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // What a crash between creating the temporary and renaming it leaves behind (an hour ago), and one another
        // process is writing now: only the old one is removed.
        File.WriteAllBytes($"{full}.tmp-12345-0badf00d", [1, 2, 3]);
        File.SetLastWriteTimeUtc($"{full}.tmp-12345-0badf00d", DateTime.UtcNow.AddHours(-1));
        string other = Path.Combine(_cache, ArchiveLayout.ChunkPath(ChunkId.Compute([43])) + ".tmp-67890-0badcafe");
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        File.WriteAllBytes(other, [4, 5, 6]);
        var cache = new DiskCache(_cache, quota: 1 << 20);
        Assert.True(File.Exists(other), "a temporary another process is writing now was deleted");
        Assert.Null(cache.TryReadChunkPooled(path, "test"));
        Assert.Equal(0, cache.Total);
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(full)!)); // the next run's index removed it
        cache.StoreChunk(path, new byte[] { 9, 8, 7 });
        using var hit = cache.TryReadChunkPooled(path, "test");
        Assert.Equal(new byte[] { 9, 8, 7 }, hit!.Data.ToArray());
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(full)!)); // chunks are written to segments now
        Assert.EndsWith(CacheSegment.Extension, cache.Locate(path)!.Value.File, StringComparison.Ordinal);
    }

    [Fact]
    public void A_segment_torn_by_a_crash_keeps_its_whole_records_and_loses_only_the_torn_one()
    {
        string[] paths = Enumerable.Range(1, 5).Select(i => ArchiveLayout.ChunkPath(ChunkId.Compute([(byte)i, 44]))).ToArray();
        var before = new DiskCache(_cache, quota: 1 << 20);
        for (int i = 0; i < 5; i++) before.StoreChunk(paths[i], Enumerable.Repeat((byte)i, 1000).ToArray());
        string segment = before.Locate(paths[0])!.Value.File;
        var last = before.Locate(paths[4])!.Value;
        // A crash while the last record was written: only part of its data reached the disk. (Had the file been
        // extended with zeros instead, the record would be read and fail verification like any damaged copy.)
        using (var h = File.OpenHandle(segment, FileMode.Open, FileAccess.Write))
            RandomAccess.SetLength(h, last.Offset + 500);
        var after = new DiskCache(_cache, quota: 1 << 20);
        for (int i = 0; i < 4; i++) Assert.Equal(Enumerable.Repeat((byte)i, 1000), after.TryReadChunk(paths[i])!);
        Assert.Null(after.TryReadChunk(paths[4]));
        Assert.Equal(4, CacheSegment.Records(segment).Count);
        // Storing it again goes to a new segment of this process; the torn one is never appended to.
        after.StoreChunk(paths[4], Enumerable.Repeat((byte)4, 1000).ToArray());
        Assert.NotEqual(segment, after.Locate(paths[4])!.Value.File);
        Assert.Equal(Enumerable.Repeat((byte)4, 1000), new DiskCache(_cache, quota: 1 << 20).TryReadChunk(paths[4])!);
    }

    [Fact]
    public void Chunks_are_still_cached_after_the_cache_directory_is_cleared_under_a_running_client()
    {
        var cache = new DiskCache(_cache, quota: 1 << 20) { RefreshInterval = TimeSpan.Zero };
        string a = ArchiveLayout.ChunkPath(ChunkId.Compute([1]));
        cache.StoreChunk(a, new byte[] { 1 });
        Directory.Delete(Path.Combine(_cache, DiskCache.SegmentsDir), recursive: true); // e.g. rm -rf by the user
        cache.StoreChunk(a, new byte[] { 2 }); // its segment is gone: a new one is started, no exception
        cache.StoreChunk(a, new byte[] { 3 });
        using var hit = cache.TryReadChunkPooled(a, "test");
        Assert.Equal(new byte[] { 3 }, hit!.Data.ToArray());
        string[] segments = Directory.GetFiles(Path.Combine(_cache, DiskCache.SegmentsDir));
        Assert.Single(segments);
        Assert.Equal(new FileInfo(segments[0]).Length, cache.Total);
        Assert.Equal(new byte[] { 3 }, new DiskCache(_cache, quota: 1 << 20).TryReadChunk(a)!);
    }

    [Fact]
    public void A_cache_miss_throws_nothing()
    {
        var cache = new DiskCache(_cache, quota: 1 << 20);
        int thrown = 0, me = Environment.CurrentManagedThreadId; // tests in other classes run in parallel
        void Count(object? s, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            if (Environment.CurrentManagedThreadId == me && e.Exception is IOException) Interlocked.Increment(ref thrown);
        }
        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            for (int i = 0; i < 20; i++)
                Assert.Null(cache.TryReadChunkPooled(ArchiveLayout.ChunkPath(ChunkId.Compute([(byte)i, 7])), "test"));
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }
        Assert.Equal(0, thrown);
        Assert.Equal(20, cache.Misses);
    }
}
