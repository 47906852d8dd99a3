using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Storage.Prefetch;

namespace Circular.Imaging.HotData;

/// <summary>
/// Tells the prefetcher when a client read has to wait (a read that does not complete at once is waiting on a fetch
/// or the disk), so the prefetcher keeps out of its way.
/// </summary>
public sealed class DemandTrackingImage(IVersionImage inner, DemandGate gate) : IVersionImage
{
    public string Name => inner.Name;
    public Manifest Manifest => inner.Manifest;
    public long Size => inner.Size;
    public bool IsWritable => inner.IsWritable;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var read = inner.ReadAsync(offset, buffer, ct);
        return read.IsCompleted ? read : WaitAsync(read);
    }

    private async ValueTask WaitAsync(ValueTask read)
    {
        gate.Enter();
        try { await read.ConfigureAwait(false); }
        finally { gate.Exit(); }
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) => inner.WriteAsync(offset, data, ct);
    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) => inner.WriteZeroesAsync(offset, length, ct);
    public ValueTask FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) => inner.GetExtentsAsync(offset, length, ct);
    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => inner.PrefetchAsync(offset, length, ct);

    /// <summary>Shared by every open of the version; <see cref="HotDataLayer"/> owns it.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
