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
        int cs = manifest.ChunkSize;
        while (buffer.Length > 0)
        {
            long block = offset / cs;
            int within = (int)(offset - block * cs);
            int blockLen = manifest.BlockLength(block);
            int take = Math.Min(buffer.Length, blockLen - within);
            var id = manifest.Blocks[block];
            if (id.IsZero)
            {
                buffer.Span[..take].Clear();
            }
            else if (within == 0 && take == blockLen)
            {
                // Whole block: decode straight into the caller's buffer when it is big enough for a full chunk.
                if (buffer.Length >= cs) await ReadWholeChunkAsync(id, buffer[..cs], blockLen, ct).ConfigureAwait(false);
                else await ReadPartAsync(id, 0, buffer[..take], blockLen, ct).ConfigureAwait(false);
            }
            else
            {
                await ReadPartAsync(id, within, buffer[..take], blockLen, ct).ConfigureAwait(false);
            }
            buffer = buffer[take..];
            offset += take;
        }
    }

    private async ValueTask ReadChunkAsync(ChunkId id, Memory<byte> dest, int expected, CancellationToken ct)
    {
        int n = await chunks.ReadAsync(id, dest, ct).ConfigureAwait(false);
        Check(id, n, expected);
    }

    /// <summary>Whole-chunk reads go straight into the caller's buffer and do not displace cached chunks.</summary>
    private async ValueTask ReadWholeChunkAsync(ChunkId id, Memory<byte> dest, int expected, CancellationToken ct)
    {
        int n = await chunks.ReadThroughAsync(id, dest, ct).ConfigureAwait(false);
        Check(id, n, expected);
    }

    private void Check(ChunkId id, int n, int expected)
    {
        if (n != expected) throw new Core.Errors.ArchiveFormatException($"{name}: chunk {id.Short} holds {n} bytes, the manifest expects {expected}");
    }

    private async ValueTask ReadPartAsync(ChunkId id, int within, Memory<byte> dest, int expected, CancellationToken ct)
    {
        byte[] tmp = s_pool.Rent(manifest.ChunkSize);
        try
        {
            await ReadChunkAsync(id, tmp.AsMemory(0, manifest.ChunkSize), expected, ct).ConfigureAwait(false);
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
        int cs = manifest.ChunkSize;
        long end = Math.Min(Size, offset + length);
        byte[] tmp = s_pool.Rent(cs);
        try
        {
            for (long b = offset / cs; b * cs < end; b++)
                if (!manifest.Blocks[b].IsZero) await chunks.ReadAsync(manifest.Blocks[b], tmp.AsMemory(0, cs), ct).ConfigureAwait(false);
        }
        finally
        {
            s_pool.Return(tmp);
        }
    }

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) =>
        ValueTask.FromResult(BlockExtents.FromBlocks(manifest.Blocks, manifest.ChunkSize, Size, offset, length, static id => id.IsZero));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Merges runs of zero and non-zero blocks into extents.</summary>
public static class BlockExtents
{
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
