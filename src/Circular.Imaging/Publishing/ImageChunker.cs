using System.Buffers;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Storage.Writing;

namespace Circular.Imaging.Publishing;

/// <summary>
/// The write path: cuts an image into fixed blocks and stores each non-zero block once, on every core.
/// Holes reported by the source are never read; blocks that read as all zeros are not stored either.
/// </summary>
public sealed class ImageChunker(ChunkWriter writer, int chunkSize)
{
    private static readonly ArrayPool<byte> s_pool = ArrayPool<byte>.Create(ChunkFile.MaxEncodedLength(ChunkSizes.Max), 64);
    private long _processed;

    /// <summary>Bytes of the image dealt with so far (holes count as processed), for progress bars.</summary>
    public long Processed => Interlocked.Read(ref _processed);

    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public async Task<ChunkedResult> ChunkAsync(IBlockImage source, CancellationToken ct)
    {
        long blocks = Manifest.BlockCount(source.Size, chunkSize);
        var ids = new ChunkId[blocks];
        var stored = writer.RecordsStoredDigests ? new ChunkId[blocks] : null;
        bool[] hasData = await FindDataBlocksAsync(source, blocks, ct).ConfigureAwait(false);
        long zeroBlocks = 0;
        for (long i = 0; i < blocks; i++)
            if (!hasData[i]) { zeroBlocks++; Interlocked.Add(ref _processed, BlockLength(source.Size, i)); }

        var opts = new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct };
        long readZero = 0;
        await Parallel.ForEachAsync(DataBlocks(hasData), opts, async (i, token) =>
        {
            int len = BlockLength(source.Size, i);
            byte[] raw = s_pool.Rent(chunkSize);
            byte[] scratch = s_pool.Rent(ChunkFile.MaxEncodedLength(chunkSize));
            try
            {
                var data = raw.AsMemory(0, len);
                await source.ReadAsync(i * chunkSize, data, token).ConfigureAwait(false);
                if (data.Span.IndexOfAnyExcept((byte)0) < 0) Interlocked.Increment(ref readZero); // stays ChunkId.Zero
                else
                {
                    var chunk = await writer.PutStoredAsync(data, scratch, token).ConfigureAwait(false);
                    ids[i] = chunk.Id;
                    if (stored is not null) stored[i] = chunk.Stored;
                }
                Interlocked.Add(ref _processed, len);
            }
            finally
            {
                s_pool.Return(raw);
                s_pool.Return(scratch);
            }
        }).ConfigureAwait(false);
        return new ChunkedResult(ids, zeroBlocks + readZero) { Stored = stored };
    }

    /// <summary>Stores a small file (kernel, initrd) as consecutive chunks.</summary>
    public async Task<AssetRef> StoreFileAsync(string path, CancellationToken ct)
    {
        await using var file = LocalImageFile.Open(path);
        var result = await ChunkAsync(file, ct).ConfigureAwait(false);
        if (result.Blocks.Any(b => b.IsZero))
        {
            // Assets are read whole by boot loaders; keep zero blocks explicit by storing them.
            byte[] zeros = new byte[chunkSize];
            byte[] scratch = new byte[ChunkFile.MaxEncodedLength(chunkSize)];
            for (long i = 0; i < result.Blocks.Length; i++)
                if (result.Blocks[i].IsZero)
                    result.Blocks[i] = await writer.PutAsync(zeros.AsMemory(0, BlockLength(file.Size, i)), scratch, ct).ConfigureAwait(false);
        }
        return new AssetRef { Name = Path.GetFileName(path), Size = file.Size, Chunks = result.Blocks.Select(b => b.ToHex()).ToArray() };
    }

    private int BlockLength(long size, long index) => (int)Math.Min(chunkSize, size - index * chunkSize);

    private static IEnumerable<long> DataBlocks(bool[] hasData)
    {
        for (long i = 0; i < hasData.LongLength; i++) if (hasData[i]) yield return i;
    }

    private async Task<bool[]> FindDataBlocksAsync(IBlockImage source, long blocks, CancellationToken ct)
    {
        var hasData = new bool[blocks];
        long pos = 0;
        while (pos < source.Size)
        {
            var extents = await source.GetExtentsAsync(pos, source.Size - pos, ct).ConfigureAwait(false);
            foreach (var e in extents)
            {
                if (e.Length <= 0) { pos = source.Size; break; }
                if (!e.IsZero)
                    for (long b = e.Offset / chunkSize; b * chunkSize < e.Offset + e.Length && b < blocks; b++) hasData[b] = true;
                pos = e.Offset + e.Length;
            }
        }
        return hasData;
    }
}

/// <summary>
/// Chunk ids of a chunked image in order (zero id for zero runs) and how many were zero; for content-defined chunks
/// also where each ends, and, when the writer records them, the stored files' digests.
/// </summary>
public sealed record ChunkedResult(ChunkId[] Blocks, long ZeroBlocks)
{
    /// <summary>Each entry's end offset (content-defined chunks); null for fixed blocks.</summary>
    public long[]? Ends { get; init; }
    /// <summary>Each entry's stored-file SHA-256 (zero for zero runs); null when not recorded.</summary>
    public ChunkId[]? Stored { get; init; }

    /// <summary>The map a manifest records: the fixed grid of <paramref name="chunkSize"/>, or the cut entries.</summary>
    public ChunkMap Map(int chunkSize, long imageSize) =>
        Ends is { } ends ? ChunkMap.Variable(Blocks, ends, Stored) : ChunkMap.Fixed(Blocks, chunkSize, imageSize, Stored);
}
