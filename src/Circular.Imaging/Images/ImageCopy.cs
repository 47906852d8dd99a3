using System.Buffers;

namespace Circular.Imaging.Images;

/// <summary>Copies a byte range of an image to a stream in order, keeping a window of reads in flight ahead of the writer.</summary>
public static class ImageCopy
{
    public const int Piece = 1 << 20;

    /// <summary>
    /// Where a copy piece that starts at <paramref name="offset"/> ends (at most <see cref="Piece"/> long, never past
    /// <paramref name="limit"/>): on a chunk boundary of <paramref name="map"/> wherever one falls within the piece, so
    /// that no chunk is split between two pieces and read twice. Content-defined chunks end anywhere: 1 MiB pieces
    /// cut on a 1 MiB grid split most of them, and each split chunk cost two partial reads.
    /// </summary>
    public static long PieceEnd(Core.Manifests.ChunkMap? map, long offset, long limit)
    {
        long max = Math.Min(limit, offset + Piece);
        // Fixed chunks (and unknown layouts): the 1 MiB grid, which the chunk grid divides or is a multiple of.
        if (map is null || map.IsGrid) return Math.Min(limit, (offset / Piece + 1) * Piece);
        if (max == limit) return limit;
        int last = map.IndexOf(max - 1);
        long start = map.Offset(last), end = map.End(last);
        if (end <= max) return end;
        // The last chunk runs past the piece: end before it, unless it is the only one (a chunk larger than a piece).
        return start > offset ? start : max;
    }

    public static async Task ToStreamAsync(IBlockImage image, long offset, long length, Stream output, int window, CancellationToken ct)
    {
        var map = (image as IVersionImage)?.Manifest.Map;
        var queue = new Queue<(Task Read, byte[] Buffer, int Length)>();
        long next = offset, end = offset + length;
        try
        {
            while (next < end || queue.Count > 0)
            {
                while (next < end && queue.Count < window)
                {
                    int len = (int)(PieceEnd(map, next, end) - next);
                    byte[] buf = ArrayPool<byte>.Shared.Rent(Piece);
                    // On the thread pool: a read answered without waiting (warm cache, zero blocks) would otherwise run
                    // to completion right here, one after another, and the window would never hold two reads at once.
                    long at = next;
                    queue.Enqueue((Task.Run(() => image.ReadAsync(at, buf.AsMemory(0, len), ct).AsTask(), ct), buf, len));
                    next += len;
                }
                var (read, buffer, count) = queue.Dequeue();
                try
                {
                    await read.ConfigureAwait(false);
                    await output.WriteAsync(buffer.AsMemory(0, count), ct).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        finally
        {
            // Let abandoned reads finish before their buffers go back to the pool.
            while (queue.Count > 0)
            {
                var (read, buffer, _) = queue.Dequeue();
                try { await read.ConfigureAwait(false); } catch (Exception) { /* the first failure is already propagating */ }
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
