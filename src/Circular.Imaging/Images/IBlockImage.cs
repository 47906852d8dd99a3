namespace Circular.Imaging.Images;

/// <summary>
/// A disk image as the front ends (NBD, FUSE, HTTP ranges, cat) see it: a fixed-size array of bytes.
/// Layers (overlay, profile recorder, prefetcher) wrap one another; each implements every member explicitly.
/// </summary>
/// <remarks>
/// Contract: callers (the front ends) validate ranges once at the boundary; layers may assume
/// 0 &lt;= offset and offset + length &lt;= <see cref="Size"/>. Reads fill the whole buffer or throw.
/// Every member is safe to call concurrently.
/// </remarks>
public interface IBlockImage : IAsyncDisposable
{
    long Size { get; }

    /// <summary>False for archive versions opened read-only: writes then throw <see cref="ReadOnlyImageException"/>.</summary>
    bool IsWritable { get; }

    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct);

    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>Makes a range read as zeros (NBD WRITE_ZEROES and TRIM).</summary>
    ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct);

    /// <summary>Makes completed writes durable.</summary>
    ValueTask FlushAsync(CancellationToken ct);

    /// <summary>
    /// Allocation map starting at <paramref name="offset"/>: consecutive extents beginning exactly at offset and
    /// covering at least one byte of the range (they may stop early or run past its end). Zero extents read as zeros.
    /// </summary>
    ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct);

    /// <summary>A hint that a range will be read soon (NBD CACHE, readahead); may do nothing.</summary>
    ValueTask PrefetchAsync(long offset, long length, CancellationToken ct);
}

/// <summary>A run of bytes that is either data or known to read as zeros.</summary>
public readonly record struct Extent(long Offset, long Length, bool IsZero);

public sealed class ReadOnlyImageException(string message) : Core.Errors.ReadOnlyException(message);
