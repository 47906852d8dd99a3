using Circular.Imaging.Images;

namespace Circular.Fuse.Tests.Support;

/// <summary>An image over a byte array shared with the test, so tests compare against (and see writes in) the backing bytes.</summary>
internal sealed class MemoryBlockImage(byte[] backing, bool writable, Action onDispose) : IBlockImage
{
    private int _disposed;

    public long Size => backing.Length;

    public bool IsWritable => writable;

    public int FlushCount;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        CheckRange(offset, buffer.Length);
        backing.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (!writable) throw new ReadOnlyImageException("memory image is read-only");
        CheckRange(offset, data.Length);
        data.Span.CopyTo(backing.AsSpan((int)offset));
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct)
    {
        if (!writable) throw new ReadOnlyImageException("memory image is read-only");
        CheckRange(offset, length);
        backing.AsSpan((int)offset, (int)length).Clear();
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref FlushCount);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<Extent>>([new Extent(offset, length, false)]);

    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) onDispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The front end must validate ranges; an out-of-range call here is a bug in it.</summary>
    private void CheckRange(long offset, long length)
    {
        if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(MemoryBlockImage));
        if (offset < 0 || length < 0 || offset + length > backing.Length)
            throw new InvalidOperationException($"out of range: {offset}+{length} > {backing.Length}");
    }
}
