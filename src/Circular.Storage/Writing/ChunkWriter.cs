using System.Collections.Concurrent;
using System.Security.Cryptography;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Storage.Backends;

namespace Circular.Storage.Writing;

/// <summary>A chunk as a manifest lists it: its id and the SHA-256 of its stored file (zero when not recorded).</summary>
public readonly record struct StoredChunk(ChunkId Id, ChunkId Stored);

/// <summary>
/// Stores chunks into a writable backend, once each: a chunk the archive already has is not written again.
/// Counts what it wrote so push can report new/reused chunks and bytes. With <see cref="RecordsStoredDigests"/>
/// it also learns the SHA-256 of every chunk file as stored, for format 2 manifests.
/// </summary>
public sealed class ChunkWriter(IArchiveBackend backend, ChunkCodec codec, int level)
{
    // One task per chunk id this writer has handled: the first caller stores it, later ones await its stored digest.
    private readonly ConcurrentDictionary<ChunkId, Task<ChunkId>> _puts = new();
    private readonly ConcurrentDictionary<ChunkId, ChunkId> _known = new();
    private IReadOnlySet<ChunkId>? _stored;
    private long _newChunks, _newBytes, _newRawBytes, _reused, _reusedBytes;

    /// <summary>Learn each chunk file's SHA-256 (format 2 manifests need it; a reused chunk costs a read of its file
    /// unless <see cref="Learn"/> was told its digest).</summary>
    public bool RecordsStoredDigests { get; init; }

    public long NewChunks => Interlocked.Read(ref _newChunks);
    public long NewBytes => Interlocked.Read(ref _newBytes);
    /// <summary>Uncompressed bytes of the chunks written.</summary>
    public long NewRawBytes => Interlocked.Read(ref _newRawBytes);
    public long Reused => Interlocked.Read(ref _reused);
    /// <summary>Uncompressed bytes of the reused chunks (each occurrence counted).</summary>
    public long ReusedBytes => Interlocked.Read(ref _reusedBytes);

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

    /// <summary>Takes the stored digests an earlier manifest recorded (its chunks were checked when it was written),
    /// so reusing them reads no chunk file.</summary>
    public void Learn(ChunkMap map)
    {
        if (!map.HasStoredDigests) return;
        for (int i = 0; i < map.Count; i++)
            if (!map.Id(i).IsZero) _known.TryAdd(map.Id(i), map.StoredDigest(i));
    }

    /// <summary>Stores raw chunk bytes under their hash unless present. <paramref name="scratch"/> must hold MaxEncodedLength.</summary>
    public async ValueTask<ChunkId> PutAsync(ReadOnlyMemory<byte> raw, byte[] scratch, CancellationToken ct) =>
        (await PutStoredAsync(raw, scratch, ct).ConfigureAwait(false)).Id;

    /// <summary>Like <see cref="PutAsync(ReadOnlyMemory{byte}, byte[], CancellationToken)"/>, with the stored file's digest.</summary>
    public async ValueTask<StoredChunk> PutStoredAsync(ReadOnlyMemory<byte> raw, byte[] scratch, CancellationToken ct)
    {
        var id = ChunkId.Compute(raw.Span);
        return new StoredChunk(id, await PutAsync(id, raw, scratch, ct).ConfigureAwait(false));
    }

    /// <summary>Stores a chunk whose id the caller computed; returns its stored digest (zero unless recorded).</summary>
    public async ValueTask<ChunkId> PutAsync(ChunkId id, ReadOnlyMemory<byte> raw, byte[] scratch, CancellationToken ct)
    {
        var mine = new TaskCompletionSource<ChunkId>(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = _puts.GetOrAdd(id, mine.Task);
        if (task != mine.Task)
        {
            Interlocked.Increment(ref _reused);
            Interlocked.Add(ref _reusedBytes, raw.Length);
            return await task.WaitAsync(ct).ConfigureAwait(false);
        }
        try
        {
            var stored = await StoreAsync(id, raw, scratch, ct).ConfigureAwait(false);
            mine.SetResult(stored);
            return stored;
        }
        catch (Exception e)
        {
            mine.SetException(e);
            _ = mine.Task.Exception; // observed here: the caller gets the exception
            throw;
        }
    }

    private async Task<ChunkId> StoreAsync(ChunkId id, ReadOnlyMemory<byte> raw, byte[] scratch, CancellationToken ct)
    {
        var handle = ObjectHandle.Chunk(id);
        bool present = _stored is { } listed ? listed.Contains(id) : await backend.ExistsAsync(handle, ct).ConfigureAwait(false);
        if (present)
        {
            if (!RecordsStoredDigests)
            {
                CountReused(raw.Length);
                return ChunkId.Zero;
            }
            if (_known.TryGetValue(id, out var knownDigest))
            {
                CountReused(raw.Length);
                return knownDigest;
            }
            if (await DigestOfGoodFileAsync(id, handle, ct).ConfigureAwait(false) is { } digest)
            {
                CountReused(raw.Length);
                return digest;
            }
            // The stored file does not decode to its id: replace it with a good one.
        }
        int n = ChunkFile.Encode(raw.Span, codec, level, scratch);
        await backend.WriteAsync(handle, scratch.AsMemory(0, n), ct).ConfigureAwait(false);
        Interlocked.Increment(ref _newChunks);
        Interlocked.Add(ref _newBytes, n);
        Interlocked.Add(ref _newRawBytes, raw.Length);
        return RecordsStoredDigests ? ChunkId.FromBytes(SHA256.HashData(scratch.AsSpan(0, n))) : ChunkId.Zero;
    }

    private void CountReused(int rawLength)
    {
        Interlocked.Increment(ref _reused);
        Interlocked.Add(ref _reusedBytes, rawLength);
    }

    /// <summary>
    /// The SHA-256 of a chunk file already in the archive, after checking that it decodes to its id: a manifest that
    /// records a file's digest vouches for it, and readers then trust the digest alone. Null when the file is bad.
    /// </summary>
    private async Task<ChunkId?> DigestOfGoodFileAsync(ChunkId id, ObjectHandle handle, CancellationToken ct)
    {
        using var file = await backend.TryReadPooledAsync(handle, ReadHints.None, ct).ConfigureAwait(false);
        if (file is null) return null;
        var bytes = file.Data.Span;
        int len;
        try { len = ChunkFile.DeclaredLength(bytes); }
        catch (InvalidDataException) { return null; }
        var content = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(len, 1));
        try
        {
            ChunkFile.DecodeVerified(id, handle.Path, bytes, content);
            return ChunkId.FromBytes(SHA256.HashData(bytes));
        }
        catch (ChunkIntegrityException) { return null; }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(content); }
    }
}
