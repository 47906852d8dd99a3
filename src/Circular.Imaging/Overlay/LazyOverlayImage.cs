using Circular.Imaging.Images;

namespace Circular.Imaging.Overlay;

/// <summary>
/// A writable view of a version whose overlay is created on the first write, not on open: reading a version
/// through a writable mount or server must not tie the image's one overlay to it (nor leave an empty overlay).
/// An overlay another lease created meanwhile is read through at once (<paramref name="existing"/>), so writable
/// leases of one export always read the same bytes.
/// </summary>
public sealed class LazyOverlayImage(IVersionImage baseImage, string baseDigest, Func<Task<OverlayImage>> create, Func<OverlayImage?> existing) : IBlockImage
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private OverlayImage? _overlay;

    public long Size => baseImage.Size;
    public bool IsWritable => true;

    private IBlockImage Current => (IBlockImage?)Volatile.Read(ref _overlay) ?? (IBlockImage?)Adopt() ?? baseImage;

    /// <summary>The overlay of this version that another lease opened, taken as this lease's own from now on.</summary>
    private OverlayImage? Adopt()
    {
        if (existing() is not { } open || open.State.BaseManifest != baseDigest) return null;
        Interlocked.CompareExchange(ref _overlay, open, null);
        return _overlay;
    }

    private async ValueTask<OverlayImage> OverlayAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _overlay) is { } ready) return ready;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_overlay is null)
            {
                var overlay = await create().ConfigureAwait(false);
                if (overlay.State.BaseManifest != baseDigest)
                    throw new ReadOnlyImageException($"{baseImage.Name} is read-only here: the image's overlay holds changes to version {overlay.State.BaseVersion}");
                Volatile.Write(ref _overlay, overlay);
            }
            return _overlay;
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct) => Current.ReadAsync(offset, buffer, ct);

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        await (await OverlayAsync(ct).ConfigureAwait(false)).WriteAsync(offset, data, ct).ConfigureAwait(false);

    public async ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) =>
        await (await OverlayAsync(ct).ConfigureAwait(false)).WriteZeroesAsync(offset, length, ct).ConfigureAwait(false);

    public ValueTask FlushAsync(CancellationToken ct) => Volatile.Read(ref _overlay) is { } o ? o.FlushAsync(ct) : ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct) => Current.GetExtentsAsync(offset, length, ct);

    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => baseImage.PrefetchAsync(offset, length, ct);

    /// <summary>The overlay belongs to the catalog (shared by every lease); a lease only flushes it.</summary>
    public async ValueTask DisposeAsync()
    {
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _gate.Dispose();
    }
}
