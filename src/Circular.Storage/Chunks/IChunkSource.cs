using Circular.Core.Chunks;

namespace Circular.Storage.Chunks;

/// <summary>
/// Gives the uncompressed bytes of a chunk, already verified against its id. Chunks are named by <see cref="ChunkRef"/>:
/// the id, and the stored file's digest where the manifest records one (a plain <see cref="ChunkId"/> converts). Implementations are decorators of one
/// another (cache over single-flight over a backend), composed by the caller.
/// </summary>
/// <remarks>
/// Contract: the bytes written to <c>destination</c> always hash to the chunk's id; otherwise the call throws
/// (ChunkIntegrityException when every copy was corrupt, ChunkMissingException when none exists,
/// BackendUnavailableException when no source could be reached). Safe to call concurrently.
/// <c>destination</c> must hold at least the chunk's length (the manifest's chunk size suffices).
/// </remarks>
public interface IChunkSource
{
    ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct);

    /// <summary>
    /// Like <see cref="ReadAsync"/>, for a reader that takes the whole chunk once (a sequential copy): a layer that keeps
    /// chunks (a memory cache) need not keep this one. Decorators forward it, so the hint reaches the layer that cares
    /// whatever sits between (measuring, metrics); a layer that keeps nothing just reads.
    /// </summary>
    ValueTask<int> ReadThroughAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct) => ReadAsync(chunk, destination, ct);

    /// <summary>
    /// Fills <paramref name="destination"/> with the chunk's bytes from <paramref name="offset"/> on when some layer can
    /// do that without reading and decoding the whole chunk (a chunk kept in memory; a stored chunk file this process
    /// has already verified), and returns false otherwise: the caller then reads the whole chunk. A small random read
    /// (4 KiB of a 256 KiB chunk) costs what it reads, as with a raw file. The bytes are those of a verified chunk.
    /// </summary>
    ValueTask<bool> TryReadRangeAsync(ChunkRef chunk, int offset, Memory<byte> destination, CancellationToken ct) => ValueTask.FromResult(false);

    /// <summary>
    /// True when some layer has the chunk without the network (memory, the disk cache, a local archive), answered
    /// without I/O. A planning hint: a client that holds most of a pack's data as chunks need not fetch the pack.
    /// </summary>
    bool IsLocal(ChunkRef chunk) => false;
}
