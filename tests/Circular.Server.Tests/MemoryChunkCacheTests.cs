using Circular.Core.Chunks;
using Circular.Storage.Chunks;

namespace Circular.Server.Tests;

/// <summary>The in-memory chunk cache: single-flight merging, no cached failures, bounded size.</summary>
public sealed class MemoryChunkCacheTests
{
    /// <summary>A chunk source whose fetches wait for a gate and are counted.</summary>
    private sealed class GatedSource : IChunkSource
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Calls;
        public int FailNext;

        public async ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
        {
            var id = chunk.Id;
            Interlocked.Increment(ref Calls);
            await Gate.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            if (Interlocked.Decrement(ref FailNext) >= 0) throw new IOException("fetch failed");
            byte[] data = Data(id);
            data.CopyTo(destination);
            return data.Length;
        }

        public static byte[] Data(ChunkId id) => Enumerable.Repeat(id.ToArray(), 1000).SelectMany(b => b).ToArray();
    }

    private static ChunkId Id(int i) => ChunkId.Compute(BitConverter.GetBytes(i));

    [Fact]
    public async Task Concurrent_reads_of_one_chunk_make_one_fetch()
    {
        for (int round = 0; round < 20; round++)
        {
            var source = new GatedSource();
            var cache = new MemoryChunkCache(source, ChunkSizes.Max, 64L << 20);
            using var start = new Barrier(16);
            var readers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                start.SignalAndWait(TimeSpan.FromSeconds(10));
                var buf = new byte[ChunkSizes.Max];
                int n = await cache.ReadAsync(Id(round), buf, CancellationToken.None);
                return buf[..n];
            })).ToList();
            await Task.Delay(50);
            source.Gate.SetResult();
            foreach (var r in readers) Assert.Equal(GatedSource.Data(Id(round)), await r.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(1, source.Calls);
        }
    }

    [Fact]
    public async Task A_failed_fetch_reaches_every_waiter_and_is_not_cached()
    {
        var source = new GatedSource { FailNext = 1 };
        var cache = new MemoryChunkCache(source, ChunkSizes.Max, 64L << 20);
        var readers = Enumerable.Range(0, 4).Select(_ => cache.ReadAsync(Id(1), new byte[ChunkSizes.Max], CancellationToken.None).AsTask()).ToList();
        source.Gate.SetResult();
        foreach (var r in readers) await Assert.ThrowsAsync<IOException>(() => r.WaitAsync(TimeSpan.FromSeconds(30)));
        var buf = new byte[ChunkSizes.Max];
        int n = await cache.ReadAsync(Id(1), buf, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(GatedSource.Data(Id(1)), buf[..n]);
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Cache_is_bounded_and_evicts_the_least_recently_used()
    {
        var source = new GatedSource();
        source.Gate.SetResult();
        int size = GatedSource.Data(Id(0)).Length;
        var cache = new MemoryChunkCache(source, ChunkSizes.Max, 3L * size);
        var buf = new byte[ChunkSizes.Max];
        foreach (int i in new[] { 1, 2, 3, 1, 4 }) await cache.ReadAsync(Id(i), buf, CancellationToken.None); // 4 evicts 2
        Assert.Equal(4, source.Calls);
        await cache.ReadAsync(Id(1), buf, CancellationToken.None);
        await cache.ReadAsync(Id(3), buf, CancellationToken.None);
        Assert.Equal(4, source.Calls);
        await cache.ReadAsync(Id(2), buf, CancellationToken.None);
        Assert.Equal(5, source.Calls);
    }
}
