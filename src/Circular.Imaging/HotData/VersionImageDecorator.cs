using Circular.Core.Manifests;
using Circular.Imaging.Images;

namespace Circular.Imaging.HotData;

/// <summary>
/// The hot-data layers over a version (packs, profile recorder, demand tracking) change reads only: everything else
/// goes to the layer below. Shared by every open of the version, so disposing one open does nothing;
/// <see cref="HotDataLayer"/> owns them.
/// </summary>
public abstract class VersionImageDecorator(IVersionImage inner) : IVersionImage
{
    protected IVersionImage Inner => inner;

    public string Name => inner.Name;
    public Manifest Manifest => inner.Manifest;
    public long Size => inner.Size;
    public bool IsWritable => inner.IsWritable;

    public abstract ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) => inner.WriteAsync(offset, data, ct);
    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) => inner.WriteZeroesAsync(offset, length, ct);
    public ValueTask FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) => inner.GetExtentsAsync(offset, length, ct);
    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => inner.PrefetchAsync(offset, length, ct);
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
