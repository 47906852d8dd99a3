using Circular.Core.Chunks;
using Circular.Storage.Trust;

namespace Circular.Storage.Chunks;

/// <summary>
/// Measures every chunk served (the seed's "trusted" variant): after the inner source returns verified bytes and
/// before the caller sees them, the chunk id is folded into the measurement log (first access only). A chunk that
/// cannot be measured is not served.
/// </summary>
public sealed class MeasuringChunkSource(IChunkSource inner, MeasurementLog log) : IChunkSource
{
    public IChunkSource Inner { get; } = inner;
    public MeasurementLog Log { get; } = log;

    public async ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        int n = await Inner.ReadAsync(chunk, destination, ct).ConfigureAwait(false);
        Log.MeasureChunk(chunk.Id);
        return n;
    }

    public async ValueTask<int> ReadThroughAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        int n = await Inner.ReadThroughAsync(chunk, destination, ct).ConfigureAwait(false);
        Log.MeasureChunk(chunk.Id);
        return n;
    }

    public bool IsLocal(ChunkRef chunk) => Inner.IsLocal(chunk);

    public async ValueTask<bool> TryReadRangeAsync(ChunkRef chunk, int offset, Memory<byte> destination, CancellationToken ct)
    {
        if (!await Inner.TryReadRangeAsync(chunk, offset, destination, ct).ConfigureAwait(false)) return false;
        Log.MeasureChunk(chunk.Id);
        return true;
    }
}
