using System.Buffers;

namespace Circular.Imaging.Images;

/// <summary>Copies a byte range of an image to a stream in order, keeping a window of reads in flight ahead of the writer.</summary>
public static class ImageCopy
{
    public const int Piece = 1 << 20;

    public static async Task ToStreamAsync(IBlockImage image, long offset, long length, Stream output, int window, CancellationToken ct)
    {
        var queue = new Queue<(Task Read, byte[] Buffer, int Length)>();
        long next = offset, end = offset + length;
        try
        {
            while (next < end || queue.Count > 0)
            {
                while (next < end && queue.Count < window)
                {
                    // Align pieces to Piece boundaries so they map onto whole chunks.
                    int len = (int)Math.Min(Piece - next % Piece, end - next);
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
