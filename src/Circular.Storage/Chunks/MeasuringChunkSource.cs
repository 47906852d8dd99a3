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

    public async ValueTask<int> ReadAsync(ChunkId id, Memory<byte> destination, CancellationToken ct)
    {
        int n = await Inner.ReadAsync(id, destination, ct).ConfigureAwait(false);
        Log.MeasureChunk(id);
        return n;
    }

    public async ValueTask<int> ReadThroughAsync(ChunkId id, Memory<byte> destination, CancellationToken ct)
    {
        int n = await Inner.ReadThroughAsync(id, destination, ct).ConfigureAwait(false);
        Log.MeasureChunk(id);
        return n;
    }

    public async ValueTask<bool> TryReadRangeAsync(ChunkId id, int offset, Memory<byte> destination, CancellationToken ct)
    {
        if (!await Inner.TryReadRangeAsync(id, offset, destination, ct).ConfigureAwait(false)) return false;
        Log.MeasureChunk(id);
        return true;
    }
}
