using Circular.Imaging.Images;

namespace Circular.Testing;

/// <summary>
/// An <see cref="IBlockImage"/> over a byte array shared with the test, so tests compare against (and see writes in)
/// the backing bytes. Zero extents are detected at 64 KiB granularity; call counters, and hooks to fail or hold back
/// reads, let tests see errors and out-of-order replies. Used after dispose, it throws.
/// </summary>
public sealed class MemoryBlockImage(byte[] data, bool writable, Action? onDispose = null) : IBlockImage
{
    public const int Granularity = 64 * 1024;

    private int _disposed;

    public byte[] Data { get; } = data;
    public long Size => Data.Length;
    public bool IsWritable { get; } = writable;
    public bool Disposed => Volatile.Read(ref _disposed) != 0;

    public int Reads;
    public int Writes;
    public int Flushes;
    public int ZeroWrites;
    public int Prefetches;

    /// <summary>When set, a read starting at this offset waits for <see cref="ReadGate"/> first.</summary>
    public long? GatedReadOffset { get; set; }
    public TaskCompletionSource ReadGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, a read starting at this offset throws it.</summary>
    public (long Offset, Exception Error)? FailRead { get; set; }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        CheckRange(offset, buffer.Length);
        Interlocked.Increment(ref Reads);
        if (FailRead is { } fail && fail.Offset == offset)
            throw fail.Error;
        if (GatedReadOffset == offset)
            await ReadGate.Task.WaitAsync(ct);
        Data.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        Interlocked.Increment(ref Writes);
        data.Span.CopyTo(Data.AsSpan((int)offset));
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, length);
        Interlocked.Increment(ref ZeroWrites);
        Data.AsSpan((int)offset, (int)length).Clear();
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref Flushes);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct)
    {
        CheckRange(offset, length);
        var extents = new List<Extent>();
        long position = offset;
        // Like a real image, answer for a bounded window (the contract lets extents stop early): scanning a
        // whole large image per call would make qemu-img's many small queries quadratic.
        long end = offset + Math.Min(length, 64L * 1024 * 1024);
        while (position < end)
        {
            // Extents follow 64 KiB blocks; the first may start mid-block, the last may run past the range.
            long blockEnd = Math.Min((position / Granularity + 1) * Granularity, Size);
            bool zero = IsZeroBlock(position / Granularity);
            if (extents.Count > 0 && extents[^1].IsZero == zero)
                extents[^1] = extents[^1] with { Length = blockEnd - extents[^1].Offset };
            else
                extents.Add(new Extent(position, blockEnd - position, zero));
            position = blockEnd;
        }
        return ValueTask.FromResult<IReadOnlyList<Extent>>(extents);
    }

    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct)
    {
        CheckRange(offset, length);
        Interlocked.Increment(ref Prefetches);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) onDispose?.Invoke();
        return ValueTask.CompletedTask;
    }

    private bool IsZeroBlock(long block)
    {
        long start = block * Granularity;
        int length = (int)Math.Min(Granularity, Size - start);
        return !Data.AsSpan((int)start, length).ContainsAnyExcept((byte)0);
    }

    private void CheckWritable()
    {
        if (!IsWritable) throw new ReadOnlyImageException("memory image is read-only");
    }

    // The front end (NBD server, FUSE) validates ranges at its boundary; a request arriving here out of range is its bug.
    private void CheckRange(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        if (offset < 0 || length < 0 || offset + length > Size)
            throw new InvalidOperationException($"front end passed an invalid range {offset}+{length} (size {Size})");
    }
}
