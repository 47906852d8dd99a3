using Circular.Core.Chunks;

namespace Circular.Core.Manifests;

/// <summary>
/// The seed's mapping table proper: where each chunk of a version lies in its image. Entry i covers
/// [<see cref="Offset"/>(i), <see cref="End"/>(i)); a zero id is a run of zeros that is never stored. Fixed-size
/// blocks (format 1 manifests) are a map whose entries all have the grid's length but the last; content-defined
/// chunks (docs/chunking.md) have any length, and zero runs may be longer than any chunk.
/// </summary>
public sealed class ChunkMap
{
    private readonly ChunkId[] _ids;
    private readonly long[]? _ends; // null: the fixed grid
    private readonly ChunkId[]? _stored;
    private readonly int _grid;

    private ChunkMap(ChunkId[] ids, long[]? ends, ChunkId[]? stored, int grid, long imageSize)
    {
        if (stored is not null && stored.Length != ids.Length) throw new ArgumentException("one stored-file digest per entry");
        _ids = ids;
        _ends = ends;
        _stored = stored;
        _grid = grid;
        ImageSize = imageSize;
    }

    /// <summary>Blocks of <paramref name="blockSize"/> bytes from offset 0, the last one short.</summary>
    public static ChunkMap Fixed(ChunkId[] blocks, int blockSize, long imageSize, ChunkId[]? stored = null)
    {
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize));
        if (blocks.LongLength != (imageSize + blockSize - 1) / blockSize) throw new ArgumentException("block count does not match the image size");
        return new ChunkMap(blocks, null, stored, blockSize, imageSize);
    }

    /// <summary>Entries ending at <paramref name="ends"/> (strictly increasing; the last is the image size).</summary>
    public static ChunkMap Variable(ChunkId[] ids, long[] ends, ChunkId[]? stored = null)
    {
        if (ids.Length != ends.Length) throw new ArgumentException("one end per entry");
        long previous = 0;
        foreach (long e in ends)
        {
            if (e <= previous) throw new ArgumentException("entry ends must increase");
            previous = e;
        }
        return new ChunkMap(ids, ends, stored, 0, previous);
    }

    /// <summary>True when the map records the SHA-256 of each stored chunk file (format 2 manifests).</summary>
    public bool HasStoredDigests => _stored is not null;

    /// <summary>The SHA-256 of entry <paramref name="index"/>'s chunk file as stored (zero for zero runs and in format 1).</summary>
    public ChunkId StoredDigest(int index) => _stored is { } s ? s[index] : ChunkId.Zero;

    public long ImageSize { get; }
    public int Count => _ids.Length;
    /// <summary>True for the fixed grid (every entry but the last <see cref="GridSize"/> long).</summary>
    public bool IsGrid => _ends is null;
    public int GridSize => _grid;

    public ChunkId Id(int index) => _ids[index];
    /// <summary>Entry <paramref name="index"/>'s id with its stored file's digest, when the manifest records one.</summary>
    public ChunkRef Ref(int index) => new(_ids[index], _stored is { } s ? s[index] : ChunkId.Zero);
    public long Offset(int index) => index == 0 ? 0 : End(index - 1);
    public long End(int index) => _ends is { } ends ? ends[index] : Math.Min(ImageSize, (long)(index + 1) * _grid);
    public long Length(int index) => End(index) - Offset(index);

    /// <summary>The entry holding byte <paramref name="offset"/> (0 &lt;= offset &lt; ImageSize).</summary>
    public int IndexOf(long offset)
    {
        if ((ulong)offset >= (ulong)ImageSize) throw new ArgumentOutOfRangeException(nameof(offset));
        if (_ends is not { } ends) return (int)(offset / _grid);
        int i = Array.BinarySearch(ends, offset);
        // An exact hit is the end of entry i, so the byte is the first of the next entry.
        return i >= 0 ? i + 1 : ~i;
    }

    /// <summary>The entries that hold any byte of [offset, offset + length), clipped to the image, in order.</summary>
    public IEnumerable<int> Covering(long offset, long length)
    {
        long end = Math.Min(ImageSize, offset + length);
        if (offset < 0 || offset >= end) yield break;
        for (int i = IndexOf(offset); i < Count && Offset(i) < end; i++) yield return i;
    }

    /// <summary>The ids in order, zero runs included.</summary>
    public ReadOnlySpan<ChunkId> Ids => _ids;

    /// <summary>The longest stored (non-zero) entry: the buffer a reader of whole chunks needs.</summary>
    public int MaxChunkLength
    {
        get
        {
            if (_ends is null) return (int)Math.Min(_grid, ImageSize);
            long max = 0;
            for (int i = 0; i < _ids.Length; i++) if (!_ids[i].IsZero) max = Math.Max(max, Length(i));
            return (int)max;
        }
    }
}
