using System.Collections.Concurrent;
using Circular.Core.Chunks;

namespace Circular.Storage.Chunks;

/// <summary>
/// Keeps recently used decoded chunks in memory (LRU, bounded in bytes) and merges concurrent requests for the same
/// chunk into one call to the layer below, so a burst of 4 KiB reads inside one 256 KiB chunk costs one fetch.
/// </summary>
public sealed class MemoryChunkCache(IChunkSource inner, int chunkCapacity, long capacityBytes) : IChunkSource
{
    // Lazy: ConcurrentDictionary.GetOrAdd may run its factory on several threads at once and keep one result, so
    // the factory only creates the Lazy; the fetch starts when the stored one's Value is first read.
    private readonly ConcurrentDictionary<ChunkId, Lazy<Task<byte[]>>> _inflight = new();
    private readonly Dictionary<ChunkId, LinkedListNode<(ChunkId Id, byte[] Data)>> _map = [];
    private readonly LinkedList<(ChunkId Id, byte[] Data)> _lru = new();
    private readonly Lock _lock = new();
    private long _bytes;
    private long _hits, _misses;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    public async ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        var id = chunk.Id;
        if (TryGet(id, out var data))
        {
            Interlocked.Increment(ref _hits);
            data.CopyTo(destination);
            return data.Length;
        }
        Interlocked.Increment(ref _misses);
        // The caller's buffer holds the chunk (the IChunkSource contract), so its length bounds the fetch buffer.
        int capacity = Math.Min(destination.Length, chunkCapacity);
        var fetch = _inflight.GetOrAdd(id, static (_, state) => new Lazy<Task<byte[]>>(() => state.Self.FetchAsync(state.Chunk, state.Capacity)), (Self: this, Chunk: chunk, Capacity: capacity));
        byte[] got = await fetch.Value.WaitAsync(ct).ConfigureAwait(false);
        got.CopyTo(destination);
        return got.Length;
    }

    /// <summary>
    /// Reads a chunk into <paramref name="destination"/> without keeping it, unless it is already cached or being
    /// fetched: for reads that cover whole chunks (sequential copies), where keeping them would only evict the
    /// chunks that small reads come back to.
    /// </summary>
    public async ValueTask<int> ReadThroughAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        var id = chunk.Id;
        if (TryGet(id, out var data))
        {
            Interlocked.Increment(ref _hits);
            data.CopyTo(destination);
            return data.Length;
        }
        if (_inflight.ContainsKey(id)) return await ReadAsync(chunk, destination, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _misses);
        return await inner.ReadAsync(chunk, destination, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A cached chunk gives its range; otherwise the layer below may read just the range (a verified local file), which
    /// is then not kept: keeping it would mean reading the whole chunk, which is what a range read avoids.
    /// </summary>
    public bool IsLocal(ChunkRef chunk)
    {
        lock (_lock)
            if (_map.ContainsKey(chunk.Id)) return true;
        return inner.IsLocal(chunk);
    }

    public ValueTask<bool> TryReadRangeAsync(ChunkRef chunk, int offset, Memory<byte> destination, CancellationToken ct)
    {
        if (TryGet(chunk.Id, out var data))
        {
            if (offset + destination.Length > data.Length) return ValueTask.FromResult(false);
            Interlocked.Increment(ref _hits);
            data.AsSpan(offset, destination.Length).CopyTo(destination.Span);
            return ValueTask.FromResult(true);
        }
        return _inflight.ContainsKey(chunk.Id) ? ValueTask.FromResult(false) : inner.TryReadRangeAsync(chunk, offset, destination, ct);
    }

    private async Task<byte[]> FetchAsync(ChunkRef chunk, int capacity)
    {
        var id = chunk.Id;
        await Task.Yield(); // leave GetOrAdd before doing I/O
        try
        {
            // A fetch that completed between this reader's miss and its GetOrAdd has already filled the cache.
            if (TryGet(id, out var ready)) return ready;
            // Decoded straight into the array the cache keeps: allocating and zeroing a buffer for the largest chunk
            // (4 MiB) per fetch, then copying, cost more than decoding a 256 KiB chunk.
            byte[] buf = GC.AllocateUninitializedArray<byte>(capacity);
            // Not cancellable: other readers may be waiting on this fetch.
            int n = await inner.ReadAsync(chunk, buf, CancellationToken.None).ConfigureAwait(false);
            if (n != buf.Length) buf = buf.AsSpan(0, n).ToArray(); // a short last chunk
            Add(id, buf);
            return buf;
        }
        finally
        {
            _inflight.TryRemove(id, out _);
        }
    }

    private bool TryGet(ChunkId id, out byte[] data)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(id, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                data = node.Value.Data;
                return true;
            }
        }
        data = [];
        return false;
    }

    private void Add(ChunkId id, byte[] data)
    {
        if (data.Length > capacityBytes) return;
        lock (_lock)
        {
            if (_map.ContainsKey(id)) return;
            _map[id] = _lru.AddFirst((id, data));
            _bytes += data.Length;
            while (_bytes > capacityBytes && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _map.Remove(last.Value.Id);
                _bytes -= last.Value.Data.Length;
            }
        }
    }
}
