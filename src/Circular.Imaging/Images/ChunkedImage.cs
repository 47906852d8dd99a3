using System.Buffers;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Storage.Chunks;

namespace Circular.Imaging.Images;

/// <summary>
/// One archive version as a read-only block image: each read maps to the chunks the manifest lists,
/// zero blocks are synthesised, and chunks come verified from the chunk source (cache, single-flight, backend).
/// </summary>
public sealed class ChunkedImage(Manifest manifest, IChunkSource chunks, string name) : IVersionImage
{
    private static readonly ArrayPool<byte> s_pool = ArrayPool<byte>.Create(ChunkSizes.Max, 64);

    public Manifest Manifest => manifest;
    public string Name => name;
    public long Size => manifest.ImageSize;
    public bool IsWritable => false;

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var map = manifest.Map;
        while (buffer.Length > 0)
        {
            int i = map.IndexOf(offset);
            long within = offset - map.Offset(i), length = map.Length(i);
            int take = (int)Math.Min(buffer.Length, length - within);
            var chunk = map.Ref(i);
            if (chunk.Id.IsZero)
            {
                buffer.Span[..take].Clear(); // a zero run may be longer than any chunk
            }
            else if (within == 0 && take == length)
            {
                // A whole chunk: decoded straight into the caller's buffer.
                await ReadWholeChunkAsync(chunk, buffer[..take], take, ct).ConfigureAwait(false);
            }
            else
            {
                await ReadPartAsync(chunk, (int)within, buffer[..take], (int)length, ct).ConfigureAwait(false);
            }
            buffer = buffer[take..];
            offset += take;
        }
    }

    private async ValueTask ReadChunkAsync(ChunkRef chunk, Memory<byte> dest, int expected, CancellationToken ct)
    {
        int n = await chunks.ReadAsync(chunk, dest, ct).ConfigureAwait(false);
        Check(chunk, n, expected);
    }

    /// <summary>Whole-chunk reads go straight into the caller's buffer and do not displace cached chunks.</summary>
    private async ValueTask ReadWholeChunkAsync(ChunkRef chunk, Memory<byte> dest, int expected, CancellationToken ct)
    {
        int n = await chunks.ReadThroughAsync(chunk, dest, ct).ConfigureAwait(false);
        Check(chunk, n, expected);
    }

    private void Check(ChunkRef chunk, int n, int expected)
    {
        if (n != expected) throw new Core.Errors.ArchiveFormatException($"{name}: chunk {chunk.Id.Short} holds {n} bytes, the manifest expects {expected}");
    }

    private async ValueTask ReadPartAsync(ChunkRef chunk, int within, Memory<byte> dest, int expected, CancellationToken ct)
    {
        if (await chunks.TryReadRangeAsync(chunk, within, dest, ct).ConfigureAwait(false)) return;
        byte[] tmp = s_pool.Rent(expected);
        try
        {
            await ReadChunkAsync(chunk, tmp.AsMemory(0, expected), expected, ct).ConfigureAwait(false);
            tmp.AsMemory(within, dest.Length).CopyTo(dest);
        }
        finally
        {
            s_pool.Return(tmp);
        }
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        throw new ReadOnlyImageException($"{name} is read-only (use --writable for a copy-on-write overlay)");

    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) =>
        throw new ReadOnlyImageException($"{name} is read-only (use --writable for a copy-on-write overlay)");

    public ValueTask FlushAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public async ValueTask PrefetchAsync(long offset, long length, CancellationToken ct)
    {
        var map = manifest.Map;
        byte[] tmp = s_pool.Rent(ChunkSizes.Max);
        try
        {
            foreach (int i in map.Covering(offset, length))
                if (!map.Id(i).IsZero) await chunks.ReadAsync(map.Ref(i), tmp.AsMemory(0, (int)map.Length(i)), ct).ConfigureAwait(false);
        }
        finally
        {
            s_pool.Return(tmp);
        }
    }

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) =>
        ValueTask.FromResult(BlockExtents.FromMap(manifest.Map, offset, length));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Merges runs of zero and non-zero blocks into extents.</summary>
public static class BlockExtents
{
    /// <summary>Extents from <paramref name="offset"/> on, each a run of zero or of stored entries (at most 4096).</summary>
    public static IReadOnlyList<Extent> FromMap(ChunkMap map, long offset, long length)
    {
        var list = new List<Extent>();
        long end = Math.Min(map.ImageSize, offset + length);
        long pos = offset;
        while (pos < end && list.Count < 4096)
        {
            int i = map.IndexOf(pos);
            bool zero = map.Id(i).IsZero;
            long runEnd = map.End(i);
            for (int next = i + 1; next < map.Count && map.Id(next).IsZero == zero && runEnd < end; next++) runEnd = map.End(next);
            list.Add(new Extent(pos, runEnd - pos, zero));
            pos = runEnd;
        }
        return list;
    }

    public static IReadOnlyList<Extent> FromBlocks<T>(T[] blocks, int blockSize, long size, long offset, long length, Func<T, bool> isZero)
    {
        var list = new List<Extent>();
        long end = Math.Min(size, offset + length);
        long pos = offset;
        while (pos < end && list.Count < 4096)
        {
            long b = pos / blockSize;
            bool zero = isZero(blocks[b]);
            long runEnd = Math.Min(size, (b + 1) * blockSize);
            for (long nb = b + 1; nb < blocks.LongLength && isZero(blocks[nb]) == zero && runEnd < end; nb++)
                runEnd = Math.Min(size, (nb + 1) * blockSize);
            list.Add(new Extent(pos, runEnd - pos, zero));
            pos = runEnd;
        }
        return list;
    }
}
