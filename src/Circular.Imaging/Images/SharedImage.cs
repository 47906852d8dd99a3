namespace Circular.Imaging.Images;

/// <summary>
/// A lease on an image that several users share (one overlay behind many NBD connections): disposing the lease
/// flushes but leaves the image open for the others; its owner disposes it.
/// </summary>
public sealed class SharedImage(IBlockImage inner) : IBlockImage
{
    public long Size => inner.Size;
    public bool IsWritable => inner.IsWritable;
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct) => inner.ReadAsync(offset, buffer, ct);
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) => inner.WriteAsync(offset, data, ct);
    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) => inner.WriteZeroesAsync(offset, length, ct);
    public ValueTask FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) => inner.GetExtentsAsync(offset, length, ct);
    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => inner.PrefetchAsync(offset, length, ct);
    public ValueTask DisposeAsync() => inner.FlushAsync(CancellationToken.None);
}
