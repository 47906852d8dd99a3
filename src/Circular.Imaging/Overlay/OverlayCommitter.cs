using System.Buffers;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Storage.Writing;

namespace Circular.Imaging.Overlay;

/// <summary>
/// Turns base + overlay into the block list of a new version: blocks the overlay never touched keep their chunk
/// ids; each touched block is read through the overlay and stored (only if the archive lacks it).
/// </summary>
public sealed class OverlayCommitter(OverlayImage overlay, Manifest baseManifest, ChunkWriter writer)
{
    private long _processed;
    public long Processed => Interlocked.Read(ref _processed);

    public sealed record Result(ChunkId[] Blocks, long ChangedBlocks, long ZeroBlocks);

    public async Task<Result> BuildAsync(CancellationToken ct)
    {
        int cs = baseManifest.ChunkSize;
        var blocks = (ChunkId[])baseManifest.Blocks.Clone();
        var changed = new List<long>();
        for (long i = 0; i < blocks.LongLength; i++)
            if (overlay.IsWritten(i * cs, baseManifest.BlockLength(i))) changed.Add(i);
        var opts = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct };
        await Parallel.ForEachAsync(changed, opts, async (i, token) =>
        {
            int len = baseManifest.BlockLength(i);
            byte[] raw = ArrayPool<byte>.Shared.Rent(cs);
            byte[] scratch = ArrayPool<byte>.Shared.Rent(ChunkFile.MaxEncodedLength(cs));
            try
            {
                var data = raw.AsMemory(0, len);
                await overlay.ReadAsync(i * cs, data, token).ConfigureAwait(false);
                blocks[i] = data.Span.IndexOfAnyExcept((byte)0) < 0 ? ChunkId.Zero : await writer.PutAsync(data, scratch, token).ConfigureAwait(false);
                Interlocked.Add(ref _processed, len);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }).ConfigureAwait(false);
        return new Result(blocks, changed.Count, blocks.LongCount(b => b.IsZero));
    }
}
