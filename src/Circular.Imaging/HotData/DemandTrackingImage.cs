using Circular.Imaging.Images;
using Circular.Storage.Prefetch;

namespace Circular.Imaging.HotData;

/// <summary>
/// Tells the prefetcher when a client read has to wait (a read that does not complete at once is waiting on a fetch
/// or the disk), so the prefetcher keeps out of its way.
/// </summary>
public sealed class DemandTrackingImage(IVersionImage inner, DemandGate gate) : VersionImageDecorator(inner)
{
    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var read = Inner.ReadAsync(offset, buffer, ct);
        return read.IsCompleted ? read : WaitAsync(read);
    }

    private async ValueTask WaitAsync(ValueTask read)
    {
        gate.Enter();
        try { await read.ConfigureAwait(false); }
        finally { gate.Exit(); }
    }
}
