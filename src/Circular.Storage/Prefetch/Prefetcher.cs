using System.Diagnostics;

namespace Circular.Storage.Prefetch;

/// <summary>
/// Runs fetches in a given order in the background (the seed's DLAHEAD): several at once, with the number in flight
/// adapted to the throughput it measures (hill climbing: more while throughput rises, fewer when it falls or a fetch
/// fails), and throttled to one while a client read is waiting (<see cref="DemandGate"/>). Best effort: a failed
/// fetch is skipped, since the read that needs it will fetch it again and report any error itself.
/// </summary>
public sealed class Prefetcher : IAsyncDisposable
{
    private readonly IReadOnlyList<PrefetchJob> _jobs;
    private readonly DemandGate _gate;
    private readonly PrefetchOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Stopwatch _clock = new();
    private readonly Lock _lock = new();
    private Task _run = Task.CompletedTask;
    private int _inFlight, _limit, _done, _failed, _peak;
    private long _bytes;
    // Hill-climbing state: bytes and time at the start of the current measuring round, best rate seen.
    private long _roundBytes;
    private TimeSpan _roundStart;
    private double _bestRate;

    public Prefetcher(IReadOnlyList<PrefetchJob> jobs, DemandGate gate, PrefetchOptions? options = null)
    {
        _jobs = jobs;
        _gate = gate;
        _options = options ?? new PrefetchOptions();
        _limit = Math.Clamp(_options.InitialConcurrency, 1, _options.MaxConcurrency);
        _gate.Idle += Pulse;
    }

    public int Total => _jobs.Count;
    public int Done => Volatile.Read(ref _done);
    public int Failed => Volatile.Read(ref _failed);
    public long Bytes => Interlocked.Read(ref _bytes);
    /// <summary>The highest number of fetches that were in flight at once.</summary>
    public int PeakConcurrency => Volatile.Read(ref _peak);
    /// <summary>From <see cref="Start"/> until the last job finished (or until now while running).</summary>
    public TimeSpan Elapsed => _clock.Elapsed;
    /// <summary>Completes when every job has finished or failed (or the prefetcher was disposed).</summary>
    public Task Completion => _run;

    public void Start()
    {
        _clock.Start();
        _run = Task.Run(() => RunAsync(_cts.Token));
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var running = new List<Task>();
        try
        {
            foreach (var job in _jobs)
            {
                while (Volatile.Read(ref _inFlight) >= CurrentLimit())
                    await _signal.WaitAsync(TimeSpan.FromMilliseconds(50), ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested(); // a slot freed by cancelled fetches is no reason to start more
                int now = Interlocked.Increment(ref _inFlight);
                InterlockedMax(ref _peak, now);
                running.Add(RunOneAsync(job, ct));
                if (running.Count > 256) running.RemoveAll(t => t.IsCompleted);
            }
            await Task.WhenAll(running).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            _clock.Stop();
        }
    }

    /// <summary>While a client read waits, one fetch at a time keeps the link for it.</summary>
    private int CurrentLimit() => _gate.Busy ? 1 : Volatile.Read(ref _limit);

    private async Task RunOneAsync(PrefetchJob job, CancellationToken ct)
    {
        bool ok = false;
        try
        {
            await job.Run(ct).ConfigureAwait(false);
            ok = true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception)
        {
            Interlocked.Increment(ref _failed);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            if (ok) Completed(job.Bytes);
            else lock (_lock) _limit = Math.Max(1, _limit / 2);
            Pulse();
        }
    }

    private void Completed(long bytes)
    {
        Interlocked.Increment(ref _done);
        Interlocked.Add(ref _bytes, bytes);
        lock (_lock)
        {
            _roundBytes += bytes;
            var elapsed = _clock.Elapsed - _roundStart;
            // A round is long enough to measure when it moved a few objects' worth of data at the current limit.
            if (elapsed < TimeSpan.FromMilliseconds(200)) return;
            double rate = _roundBytes / elapsed.TotalSeconds;
            if (rate > _bestRate * 1.05)
            {
                _bestRate = rate;
                _limit = Math.Min(_options.MaxConcurrency, _limit + 2);
            }
            else if (rate < _bestRate * 0.7)
            {
                _limit = Math.Max(1, _limit - 1);
            }
            _roundBytes = 0;
            _roundStart = _clock.Elapsed;
        }
    }

    private void Pulse()
    {
        try { _signal.Release(); }
        catch (ObjectDisposedException) { }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    public async ValueTask DisposeAsync()
    {
        _gate.Idle -= Pulse;
        await _cts.CancelAsync().ConfigureAwait(false);
        try { await _run.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _cts.Dispose();
    }
}
