using System.Collections.Concurrent;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Storage.Backends;

namespace Circular.Storage.Writing;

/// <summary>
/// Stores chunks into a writable backend, once each: a chunk the archive already has is not written again.
/// Counts what it wrote so push can report new/reused chunks and bytes.
/// </summary>
public sealed class ChunkWriter(IArchiveBackend backend, ChunkCodec codec, int level)
{
    private readonly ConcurrentDictionary<ChunkId, byte> _seen = new();
    private IReadOnlySet<ChunkId>? _stored;

    /// <summary>
    /// Lists the chunks the archive has once, so no chunk costs an existence check (one request per new chunk in S3;
    /// a listing is one per thousand). Safe under the chunks lock a writer holds: nothing listed can go away, and a
    /// chunk stored by a concurrent writer after the listing is merely written again, with the same bytes.
    /// </summary>
    public async Task ListStoredAsync(CancellationToken ct)
    {
        var set = new HashSet<ChunkId>();
        await foreach (var e in backend.ListAsync(ObjectKind.Chunk, null, ct).ConfigureAwait(false))
            if (ChunkId.TryParse(e.Name, out var id)) set.Add(id);
        _stored = set;
    }
    private long _newChunks, _newBytes, _reused;

    public long NewChunks => Interlocked.Read(ref _newChunks);
    public long NewBytes => Interlocked.Read(ref _newBytes);
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>Stores raw chunk bytes under their hash unless present. <paramref name="scratch"/> must hold MaxEncodedLength.</summary>
    public async ValueTask<ChunkId> PutAsync(ReadOnlyMemory<byte> raw, byte[] scratch, CancellationToken ct)
    {
        var id = ChunkId.Compute(raw.Span);
        await PutAsync(id, raw, scratch, ct).ConfigureAwait(false);
        return id;
    }

    public async ValueTask PutAsync(ChunkId id, ReadOnlyMemory<byte> raw, byte[] scratch, CancellationToken ct)
    {
        var handle = ObjectHandle.Chunk(id);
        if (!_seen.TryAdd(id, 0) || (_stored is { } stored ? stored.Contains(id) : await backend.ExistsAsync(handle, ct).ConfigureAwait(false)))
        {
            Interlocked.Increment(ref _reused);
            return;
        }
        int n = ChunkFile.Encode(raw.Span, codec, level, scratch);
        await backend.WriteAsync(handle, scratch.AsMemory(0, n), ct).ConfigureAwait(false);
        Interlocked.Increment(ref _newChunks);
        Interlocked.Add(ref _newBytes, n);
    }
}
