using System.Buffers;
using Circular.Imaging.Images;

namespace Circular.Cli.Composition;

/// <summary>Copies a whole image out: to a sparse file in parallel, or in order to a stream.</summary>
public static class ImageExport
{
    private const int Piece = ImageCopy.Piece;
    private const int Parallelism = 16;

    public static async Task ToFileAsync(IBlockImage image, string path, Action<long> progress, CancellationToken ct)
    {
        // Regular files are written beside the target and renamed, so a failed cat never leaves a wrong image behind.
        bool regular = !path.StartsWith("/dev/", StringComparison.Ordinal) && !path.StartsWith("/proc/", StringComparison.Ordinal);
        string target = regular ? path + $".partial-{Environment.ProcessId}" : path;
        try
        {
            // A device (/dev/null, a block device) is shared: FileShare.None would take .NET's exclusive lock on it, and
            // two cats to /dev/null at once failed with "being used by another process".
            using (var h = File.OpenHandle(target, regular ? FileMode.Create : FileMode.Open, FileAccess.Write, regular ? FileShare.None : FileShare.ReadWrite))
            {
                var pieces = new List<(long Offset, int Length)>();
                var map = (image as IVersionImage)?.Manifest.Map;
                long pos = 0;
                while (pos < image.Size)
                {
                    var extents = await image.GetExtentsAsync(pos, image.Size - pos, ct).ConfigureAwait(false);
                    foreach (var e in extents)
                    {
                        if (!e.IsZero)
                            for (long p = e.Offset, end; p < e.Offset + e.Length; p = end)
                            {
                                end = ImageCopy.PieceEnd(map, p, e.Offset + e.Length);
                                pieces.Add((p, (int)(end - p)));
                            }
                        else progress(e.Length);
                        pos = e.Offset + e.Length;
                    }
                }
                var opts = new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct };
                await Parallel.ForEachAsync(pieces, opts, async (piece, token) =>
                {
                    byte[] buf = ArrayPool<byte>.Shared.Rent(Piece);
                    try
                    {
                        var mem = buf.AsMemory(0, piece.Length);
                        await image.ReadAsync(piece.Offset, mem, token).ConfigureAwait(false);
                        await RandomAccess.WriteAsync(h, mem, piece.Offset, token).ConfigureAwait(false);
                        progress(piece.Length);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buf);
                    }
                }).ConfigureAwait(false);
                if (regular) RandomAccess.SetLength(h, image.Size);
            }
            if (regular) File.Move(target, path, overwrite: true);
        }
        catch
        {
            if (regular) File.Delete(target);
            throw;
        }
    }

    /// <summary>Sequential copy to a stream (standard output), reads running ahead of the writer.</summary>
    public static async Task ToStreamAsync(IBlockImage image, Stream output, CancellationToken ct)
    {
        await ImageCopy.ToStreamAsync(image, 0, image.Size, output, Parallelism, ct).ConfigureAwait(false);
        await output.FlushAsync(ct).ConfigureAwait(false);
    }
}
