using Circular.Imaging.Images;

namespace Circular.Imaging.Tests;

/// <summary>
/// An in-memory image with a declared allocation map. A read that touches no data extent throws, so a test fails
/// if a hole is ever read. <see cref="MaxExtentsPerCall"/> makes GetExtentsAsync answer in small pieces.
/// </summary>
public sealed class FakeImage(byte[] content, IReadOnlyList<Extent> dataExtents) : IBlockImage
{
    public int Reads;
    public int MaxExtentsPerCall { get; init; } = int.MaxValue;

    public long Size => content.LongLength;
    public bool IsWritable => false;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        Interlocked.Increment(ref Reads);
        long end = offset + buffer.Length;
        if (!dataExtents.Any(e => e.Offset < end && offset < e.Offset + e.Length))
            throw new InvalidOperationException($"read of a hole at {offset} (+{buffer.Length})");
        content.AsMemory((int)offset, buffer.Length).CopyTo(buffer);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct)
    {
        var all = new List<Extent>();
        long pos = 0;
        foreach (var d in dataExtents.OrderBy(e => e.Offset))
        {
            if (d.Offset > pos) all.Add(new Extent(pos, d.Offset - pos, true));
            all.Add(d);
            pos = d.Offset + d.Length;
        }
        if (pos < Size) all.Add(new Extent(pos, Size - pos, true));
        var from = all.Where(e => e.Offset + e.Length > offset).Take(MaxExtentsPerCall).ToList();
        if (from.Count > 0 && from[0].Offset < offset) from[0] = new Extent(offset, from[0].Offset + from[0].Length - offset, from[0].IsZero);
        return ValueTask.FromResult<IReadOnlyList<Extent>>(from);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException();
    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) => throw new NotSupportedException();
    public ValueTask FlushAsync(CancellationToken ct) => ValueTask.CompletedTask;
    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
