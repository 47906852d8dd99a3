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

    /// <summary>Chunk files fetched and their encoded bytes (what crossed the network for an HTTP backend).</summary>
    public long Fetched => Interlocked.Read(ref _fetched);
    public long FetchedBytes => Interlocked.Read(ref _fetchedBytes);
    public long CorruptCopies => Interlocked.Read(ref _corrupt);

    public IArchiveBackend Backend => backend;

    public async ValueTask<int> ReadAsync(ChunkId id, Memory<byte> destination, CancellationToken ct)
    {
        var (file, _) = await FetchVerifiedAsync(id, destination, ct).ConfigureAwait(false);
        return file;
    }

    /// <summary>Fetches, verifies and decodes; also returns the encoded file so a cache can keep it.</summary>
    public async ValueTask<(int Length, byte[] Encoded)> FetchVerifiedAsync(ChunkId id, Memory<byte> destination, CancellationToken ct)
    {
        string path = ArchiveLayout.ChunkPath(id);
        var hints = ReadHints.None;
        ChunkIntegrityException? last = null;
        var tried = new List<string>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var obj = await backend.TryReadAsync(path, hints, ct).ConfigureAwait(false);
            if (obj is null)
            {
                if (last is not null) throw last;
                throw new ChunkMissingException(id, $"not found in {backend.Location}");
            }
            Interlocked.Increment(ref _fetched);
            Interlocked.Add(ref _fetchedBytes, obj.Data.Length);
            try
            {
                int n = ChunkFile.DecodeVerified(id, obj.Source, obj.Data, destination.Span);
                return (n, obj.Data);
            }
            catch (ChunkIntegrityException e)
            {
                Interlocked.Increment(ref _corrupt);
                last = e;
                tried.Add(obj.Source);
                hints = new ReadHints(BypassCaches: true, Avoid: obj.Source);
            }
        }
        throw new ChunkIntegrityException(id, string.Join(", ", tried.Distinct()), "no good copy on any mirror (" + last!.Message + ")");
    }
}
