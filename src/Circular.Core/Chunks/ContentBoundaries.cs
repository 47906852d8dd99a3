using System.IO.Hashing;

namespace Circular.Core.Chunks;

/// <summary>One cut of an image: a data chunk to store, or a run of zero pages that is never stored.</summary>
public readonly record struct ImagePiece(long Offset, long Length, bool IsZero)
{
    public long End => Offset + Length;
}

/// <summary>
/// Content-defined chunk boundaries on the 4 KiB page grid (docs/format.md, "Content-defined chunking"), so that a
/// file system rebuilt from scratch, whose files land at other 4 KiB-aligned places, is cut into the same chunks
/// wherever its data did not change. Each whole page is either zero or data. A data page whose XXH3-64 hash (seed 0)
/// has its low <c>log2(AveragePages)</c> bits all set ends a chunk, once the chunk holds <see cref="MinPages"/>;
/// a chunk ends anyway at <see cref="MaxPages"/>. A run of at least <see cref="ZeroRunPages"/> zero pages is a
/// zero piece of its own (shorter runs stay inside data chunks, where they compress to nothing). The bytes after the
/// last whole page (an image whose size is not a multiple of 4 KiB) end the last data chunk.
/// Fed sequentially (<see cref="Add"/>, then <see cref="Complete"/>); the same bytes always cut the same way,
/// however they are split between calls.
/// </summary>
public sealed class ContentBoundaries
{
    public const int PageSize = 4096;
    /// <summary>Zero runs shorter than this (in pages) stay inside the data chunk around them.</summary>
    public const int ZeroRunPages = 16;

    private readonly ulong _mask;
    private readonly Action<ImagePiece> _emit;
    private long _offset;          // image offset of the next byte to classify
    private long _chunkStart;      // start of the open data chunk
    private long _chunkPages;      // whole pages in the open data chunk
    private long _zeroStart = -1;  // start of the pending zero run (-1: none)
    private long _zeroPages;
    private bool _completed;

    /// <param name="averageSize">The mean spacing of content boundaries: a power of two from 16 KiB to 1 MiB.
    /// Chunks hold at least a quarter of it and at most four times it.</param>
    /// <param name="emit">Receives each piece, in order.</param>
    public ContentBoundaries(int averageSize, Action<ImagePiece> emit)
    {
        if (!IsValidAverage(averageSize)) throw new ArgumentOutOfRangeException(nameof(averageSize), averageSize, "a power of two from 16 KiB to 1 MiB");
        AveragePages = averageSize / PageSize;
        MinPages = AveragePages / 4;
        MaxPages = AveragePages * 4;
        _mask = (ulong)AveragePages - 1;
        _emit = emit;
    }

    public static bool IsValidAverage(int size) => size >= 16 << 10 && size <= 1 << 20 && (size & (size - 1)) == 0;

    public int AveragePages { get; }
    public int MinPages { get; }
    public int MaxPages { get; }
    /// <summary>The longest data chunk this cuts.</summary>
    public int MaxChunkLength => MaxPages * PageSize;

    /// <summary>
    /// Classifies the next bytes of the image. Every call but the last must pass a whole number of pages; the last
    /// (or <see cref="Complete"/> after it) may end with a partial page.
    /// </summary>
    public void Add(ReadOnlySpan<byte> data)
    {
        if (_completed) throw new InvalidOperationException("already completed");
        if (_offset % PageSize != 0) throw new InvalidOperationException("only the last call may end with a partial page");
        int whole = data.Length / PageSize * PageSize;
        for (int p = 0; p < whole; p += PageSize) AddPage(data.Slice(p, PageSize));
        if (whole < data.Length)
        {
            // A partial last page: data (even if zero), appended to the open chunk, then everything ends.
            EndZeroRun();
            _offset += data.Length - whole;
            _chunkPages++;
            Complete();
        }
    }

    /// <summary>Ends the image: emits what is still open.</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        EndZeroRun();
        EndChunk(_offset);
    }

    private void AddPage(ReadOnlySpan<byte> page)
    {
        if (page.IndexOfAnyExcept((byte)0) < 0)
        {
            if (_zeroStart < 0) _zeroStart = _offset;
            _zeroPages++;
            _offset += PageSize;
            // Long enough to stand alone: the data before it ends here.
            if (_zeroPages == ZeroRunPages) EndChunk(_zeroStart);
            return;
        }
        EndZeroRun();
        _offset += PageSize;
        _chunkPages++;
        if (_chunkPages >= MaxPages || (_chunkPages >= MinPages && (XxHash3.HashToUInt64(page) & _mask) == _mask))
            EndChunk(_offset);
    }

    /// <summary>Data follows a zero run: a long one is a zero piece, a short one joins the open chunk.</summary>
    private void EndZeroRun()
    {
        if (_zeroStart < 0 || _zeroPages < ZeroRunPages)
        {
            FlushZerosIntoChunk();
            return;
        }
        _emit(new ImagePiece(_zeroStart, _offset - _zeroStart, IsZero: true));
        _zeroStart = -1;
        _zeroPages = 0;
        _chunkStart = _offset;
    }

    /// <summary>A zero run too short to stand alone joins the open chunk page by page (each may reach the maximum).</summary>
    private void FlushZerosIntoChunk()
    {
        if (_zeroStart < 0) return;
        for (long i = 0; i < _zeroPages; i++)
        {
            _chunkPages++;
            if (_chunkPages >= MaxPages) EndChunk(_zeroStart + (i + 1) * PageSize);
        }
        _zeroStart = -1;
        _zeroPages = 0;
    }

    private void EndChunk(long end)
    {
        if (end > _chunkStart) _emit(new ImagePiece(_chunkStart, end - _chunkStart, IsZero: false));
        _chunkStart = end;
        _chunkPages = 0;
    }
}
