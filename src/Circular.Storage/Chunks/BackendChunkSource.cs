using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Backends;

namespace Circular.Storage.Chunks;

/// <summary>
/// Reads chunk files from a backend and verifies them. A corrupt copy is never returned: the chunk is asked for
/// again from another source with caches bypassed, and if that copy is bad too the read fails naming the chunk.
/// </summary>
public sealed class BackendChunkSource(IArchiveBackend backend) : IChunkSource
{
    private long _fetched, _fetchedBytes, _corrupt;
    // Local chunk files this process has hashed: their size-and-time stamp, and for a stored (uncompressed) file its
    // payload length, which is what lets a range of it be read without reading the rest.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ChunkId, Verified> _verifiedLocal = new();

    private readonly record struct Verified(long Stamp, int StoredPayload);

    // Handles of verified stored files, for the reads that come back to them; well under the open-file limit.
    private readonly OpenChunkFiles _open = new((int)Math.Clamp(Posix.Libc.OpenFileLimit() / 4, 64, 4096));

    private enum Range { Done, WouldBlock, Unavailable }

    /// <summary>Chunk files fetched and their encoded bytes (what crossed the network for an HTTP backend).</summary>
    public long Fetched => Interlocked.Read(ref _fetched);
    public long FetchedBytes => Interlocked.Read(ref _fetchedBytes);
    public long CorruptCopies => Interlocked.Read(ref _corrupt);

    public IArchiveBackend Backend => backend;

    private static readonly System.Buffers.ArrayPool<byte> s_pool =
        System.Buffers.ArrayPool<byte>.Create(ChunkFile.MaxEncodedLength(ChunkFile.MaxChunkLength), 64);

    public bool IsLocal(ChunkRef chunk) => backend.HoldsLocally(ObjectHandle.Chunk(chunk.Id));

    public async ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        var id = chunk.Id;
        if (backend is ILocalObjects local)
        {
            // A verified stored file already in the page cache is read on the caller's thread: no thread hop.
            if (_verifiedLocal.TryGetValue(id, out var seen) && seen.StoredPayload >= 0 && seen.StoredPayload <= destination.Length
                && ReadVerifiedRange(local, id, seen, 0, destination.Span[..seen.StoredPayload], mayBlock: false) == Range.Done)
            {
                Interlocked.Increment(ref _fetched);
                return seen.StoredPayload;
            }
            // Off the caller's thread first: an NBD connection's receive loop calls in here inline, and a blocking read
            // of a file not in the page cache must not hold up the connection's next requests.
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            return ReadLocal(local, id, destination.Span);
        }
        var (n, _) = await FetchAsync(chunk, destination, keepEncoded: false, ct).ConfigureAwait(false);
        return n;
    }

    /// <summary>
    /// Local archives: read the chunk file into a pooled buffer and decode from there. The general path allocates
    /// each file as a new array, which at NBD speeds (thousands of chunks a second) is mostly garbage collection.
    /// There is no other copy to fall back to, so a bad file fails the read at once.
    /// </summary>
    private int ReadLocal(ILocalObjects local, ChunkId id, Span<byte> destination)
    {
        string full = local.FullPath(ObjectHandle.Chunk(id));
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try { handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ChunkMissingException(id, $"not found in {backend.Location}");
        }
        using (handle)
        {
            long length = RandomAccess.GetLength(handle);
            if (length > ObjectHandle.MaxChunkFileLength) throw new ChunkIntegrityException(id, full, $"file is {length} bytes");
            byte[] buf = s_pool.Rent((int)length);
            try
            {
                // A local chunk file is hashed the first time this process reads it; after that, while its size and
                // modification time are unchanged, it is only decoded (hashing was a third of a warm NBD read's CPU).
                long stamp = Stamp(handle, length);
                int done = Posix.PositionalRead.Fully(handle, buf.AsSpan(0, (int)Math.Min(length, ChunkFile.HeaderSize)), 0);
                if (done == ChunkFile.HeaderSize && buf[5] == (byte)ChunkCodec.None && length - ChunkFile.HeaderSize <= destination.Length)
                    return ReadStored(handle, id, full, (int)length - ChunkFile.HeaderSize, buf, destination, stamp);
                if (done == ChunkFile.HeaderSize)
                    done += Posix.PositionalRead.Fully(handle, buf.AsSpan(done, (int)length - done), done);
                Interlocked.Increment(ref _fetched);
                Interlocked.Add(ref _fetchedBytes, done);
                if (_verifiedLocal.TryGetValue(id, out var seen) && seen.Stamp == stamp)
                {
                    try { return ChunkFile.Decode(buf.AsSpan(0, done), destination); }
                    catch (InvalidDataException e) { throw new ChunkIntegrityException(id, full, e.Message); }
                }
                try
                {
                    int n = ChunkFile.DecodeVerified(id, full, buf.AsSpan(0, done), destination);
                    _verifiedLocal[id] = new Verified(stamp, -1);
                    return n;
                }
                catch (ChunkIntegrityException)
                {
                    Interlocked.Increment(ref _corrupt);
                    throw;
                }
            }
            finally
            {
                s_pool.Return(buf);
            }
        }
    }

    private static long Stamp(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length) =>
        File.GetLastWriteTimeUtc(handle).Ticks ^ (length << 40);

    /// <summary>
    /// Local archives: a range of a stored chunk file that this process has verified whole and that has not changed
    /// since (same stamp) is read with one pread, like a raw image. Anything else is left to the whole-chunk read,
    /// which verifies, so a file that vanished or changed is reported (or re-verified) there.
    /// </summary>
    public async ValueTask<bool> TryReadRangeAsync(ChunkRef chunk, int offset, Memory<byte> destination, CancellationToken ct)
    {
        var id = chunk.Id;
        if (backend is not ILocalObjects local || !_verifiedLocal.TryGetValue(id, out var seen)
            || offset < 0 || seen.StoredPayload < offset + destination.Length) return false;
        switch (ReadVerifiedRange(local, id, seen, offset, destination.Span, mayBlock: false))
        {
            case Range.Done: return true;
            case Range.Unavailable: return false;
        }
        await Task.Yield(); // not in the page cache: off an NBD receive loop, as in ReadAsync
        ct.ThrowIfCancellationRequested();
        return ReadVerifiedRange(local, id, seen, offset, destination.Span, mayBlock: true) == Range.Done;
    }

    /// <summary>
    /// Bytes of a stored file verified earlier, through a kept handle, while its stamp is unchanged. Without
    /// <paramref name="mayBlock"/> only what the page cache holds is read (WouldBlock otherwise). Unavailable (the file
    /// changed, vanished or came up short) sends the caller to the whole-chunk read, which verifies again or reports.
    /// </summary>
    private Range ReadVerifiedRange(ILocalObjects local, ChunkId id, Verified seen, int offset, Span<byte> destination, bool mayBlock)
    {
        if (_open.Get(id, local.FullPath(ObjectHandle.Chunk(id))) is not { } handle) return Range.Unavailable;
        try
        {
            if (Stamp(handle, RandomAccess.GetLength(handle)) != seen.Stamp)
            {
                _open.Forget(id);
                return Range.Unavailable;
            }
            int got = mayBlock
                ? Posix.PositionalRead.Fully(handle, destination, ChunkFile.HeaderSize + offset)
                : Posix.NoWaitRead.TryFully(handle, destination, ChunkFile.HeaderSize + offset);
            if (got < 0) return Range.WouldBlock;
            if (got != destination.Length)
            {
                _open.Forget(id);
                return Range.Unavailable;
            }
            Interlocked.Add(ref _fetchedBytes, got);
            return Range.Done;
        }
        catch (ObjectDisposedException) { return Range.Unavailable; } // closed by a trim under this read
        catch (IOException)
        {
            _open.Forget(id);
            return Range.Unavailable;
        }
    }

    /// <summary>
    /// A stored (incompressible) chunk: its payload is read straight into the caller's buffer after the header, where
    /// reading the whole file and copying the payload out cost a third copy of every byte (nbdkit's file plugin reads
    /// once and sends; so does this now).
    /// </summary>
    private int ReadStored(Microsoft.Win32.SafeHandles.SafeFileHandle handle, ChunkId id, string full, int payload,
        byte[] header, Span<byte> destination, long stamp)
    {
        try
        {
            int declared;
            try { declared = ChunkFile.DeclaredLength(header.AsSpan(0, ChunkFile.HeaderSize)); }
            catch (InvalidDataException e) { throw new ChunkIntegrityException(id, full, e.Message); }
            if (declared != payload) throw new ChunkIntegrityException(id, full, "stored payload length differs from the declared length");
            int got = Posix.PositionalRead.Fully(handle, destination[..payload], ChunkFile.HeaderSize);
            Interlocked.Increment(ref _fetched);
            Interlocked.Add(ref _fetchedBytes, ChunkFile.HeaderSize + got);
            if (got != payload) throw new ChunkIntegrityException(id, full, $"file shrank while it was read ({got} of {payload} bytes)");
            if (_verifiedLocal.TryGetValue(id, out var seen) && seen.Stamp == stamp) return payload;
            ChunkFile.CheckContent(id, full, destination[..payload]);
            _verifiedLocal[id] = new Verified(stamp, payload);
            return payload;
        }
        catch (ChunkIntegrityException)
        {
            Interlocked.Increment(ref _corrupt);
            throw;
        }
    }

    /// <summary>Fetches, verifies and decodes; also returns the encoded file so a cache can keep it.</summary>
    public async ValueTask<(int Length, byte[] Encoded)> FetchVerifiedAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        var (n, encoded) = await FetchAsync(chunk, destination, keepEncoded: true, ct).ConfigureAwait(false);
        return (n, encoded!);
    }

    /// <summary>
    /// Fetches through the backend's pooled read: the encoded file lives in a rented buffer only until it is decoded,
    /// instead of a new array per chunk (cache files and HTTP bodies alike), unless the caller keeps it.
    /// </summary>
    private async ValueTask<(int Length, byte[]? Encoded)> FetchAsync(ChunkRef chunk, Memory<byte> destination, bool keepEncoded, CancellationToken ct)
    {
        var id = chunk.Id;
        return await VerifiedRead.ReadAsync(backend, ObjectHandle.Chunk(id), (obj, _) =>
        {
            Interlocked.Increment(ref _fetched);
            Interlocked.Add(ref _fetchedBytes, obj.Length);
            try
            {
                int n = ChunkFile.DecodeStored(chunk, obj.Source, obj.Data.Span, destination.Span);
                return ValueTask.FromResult((n, keepEncoded ? obj.ToBackendObject().Data : null));
            }
            catch (ChunkIntegrityException)
            {
                Interlocked.Increment(ref _corrupt);
                throw;
            }
        },
        whenMissing: defect => throw defect ?? new ChunkMissingException(id, $"not found in {backend.Location}"),
        whenExhausted: (last, bad) => new ChunkIntegrityException(id, string.Join(", ", bad.Distinct()),
            $"{((ChunkIntegrityException)last).Detail}; no good copy on any mirror"),
        ct).ConfigureAwait(false);
    }
}
