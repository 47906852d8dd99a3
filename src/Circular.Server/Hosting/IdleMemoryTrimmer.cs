namespace Circular.Server.Hosting;

/// <summary>
/// Gives memory back to the system once a burst of requests is over. The GC runs only when something allocates, so a
/// server that goes quiet after 800 connections kept the heap that burst grew (hundreds of MB) for as long as it
/// stayed quiet. Every <see cref="Period"/> this looks at how much was allocated: when the last period allocated next
/// to nothing but much was allocated since the last trim, it runs one aggressive collection, which also decommits the
/// free heap and lets the shared array pool drop its idle buffers. A busy server is never interrupted by it.
/// </summary>
public sealed class IdleMemoryTrimmer : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    /// <summary>Allocation in one period below which the server counts as idle.</summary>
    private const long IdleBytes = 1 << 20;

    /// <summary>Allocation since the last trim worth a collection.</summary>
    private const long BurstBytes = 64 << 20;

    private readonly Timer _timer;
    private long _lastTick = GC.GetTotalAllocatedBytes();
    private long _lastTrim = GC.GetTotalAllocatedBytes();
    private int _running;

    public IdleMemoryTrimmer() => _timer = new Timer(_ => Tick(), null, Period, Period);

    /// <summary>Collections run so far (for tests and diagnostics).</summary>
    public int Trims { get; private set; }

    private void Tick()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) return;
        try
        {
            long now = GC.GetTotalAllocatedBytes();
            bool idle = now - _lastTick < IdleBytes;
            _lastTick = now;
            if (!idle || now - _lastTrim < BurstBytes) return;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _lastTrim = _lastTick = GC.GetTotalAllocatedBytes();
            Trims++;
        }
        finally { Volatile.Write(ref _running, 0); }
    }

    public void Dispose() => _timer.Dispose();
}
