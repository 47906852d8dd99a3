using System.Collections.Concurrent;
using Circular.Storage.Prefetch;

namespace Circular.Storage.Tests;

public class PrefetcherTests
{
    /// <summary>Jobs that take <paramref name="latency"/> each (like a request over a slow link) and track how many run at once.</summary>
    private sealed class Probe(TimeSpan latency)
    {
        public readonly ConcurrentQueue<int> Started = new();
        public int Running, Peak;

        public List<PrefetchJob> Jobs(int count, Func<int, bool>? fail = null) => Enumerable.Range(0, count).Select(i => new PrefetchJob($"job {i}", 1000, async ct =>
        {
            Started.Enqueue(i);
            int now = Interlocked.Increment(ref Running);
            lock (this) Peak = Math.Max(Peak, now);
            try
            {
                await Task.Delay(latency, ct);
                if (fail?.Invoke(i) == true) throw new IOException("boom");
            }
            finally { Interlocked.Decrement(ref Running); }
        })).ToList();
    }

    [Fact]
    public async Task OneAtATime_runsEveryJobInOrder()
    {
        var probe = new Probe(TimeSpan.FromMilliseconds(1));
        await using var p = new Prefetcher(probe.Jobs(20), new DemandGate(), new PrefetchOptions { InitialConcurrency = 1, MaxConcurrency = 1 });
        p.Start();
        await p.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 20), probe.Started);
        Assert.Equal(20, p.Done);
        Assert.Equal(20_000, p.Bytes);
        Assert.Equal(1, probe.Peak);
    }

    [Fact]
    public async Task Concurrency_climbsWhileThroughputRises_butNeverPassesTheMaximum()
    {
        // Fixed latency per job: throughput grows with every request in flight, so the prefetcher should climb.
        var probe = new Probe(TimeSpan.FromMilliseconds(40));
        await using var p = new Prefetcher(probe.Jobs(300), new DemandGate(), new PrefetchOptions { InitialConcurrency = 2, MaxConcurrency = 10 });
        p.Start();
        await p.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(300, p.Done);
        Assert.True(probe.Peak > 2, $"peak {probe.Peak}: concurrency never rose above its start");
        Assert.True(probe.Peak <= 10, $"peak {probe.Peak} passed the maximum");
        Assert.Equal(probe.Peak, p.PeakConcurrency);
    }

    [Fact]
    public async Task WhileAClientReadWaits_atMostOneFetchIsInFlight()
    {
        var gate = new DemandGate();
        gate.Enter(); // a guest read is waiting from the start
        var probe = new Probe(TimeSpan.FromMilliseconds(20));
        await using var p = new Prefetcher(probe.Jobs(15), gate, new PrefetchOptions { InitialConcurrency = 8, MaxConcurrency = 8 });
        p.Start();
        // Until the first fetch has started (a loaded machine may take a while), then long enough for more to start
        // if the gate let them: concurrency only falls under load, so the check holds on a slow machine too.
        for (int i = 0; i < 400 && probe.Started.Count < 1; i++) await Task.Delay(25);
        await Task.Delay(200);
        Assert.Equal(1, probe.Peak);
        gate.Exit(); // the read completed: the prefetcher opens up again
        await p.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(15, p.Done);
        Assert.True(probe.Peak > 1, "the prefetcher stayed throttled after the client read completed");
    }

    [Fact]
    public async Task FailedJobs_areCounted_andTheRestStillRun()
    {
        var probe = new Probe(TimeSpan.FromMilliseconds(1));
        await using var p = new Prefetcher(probe.Jobs(30, fail: i => i % 3 == 0), new DemandGate());
        p.Start();
        await p.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(10, p.Failed);
        Assert.Equal(20, p.Done);
        Assert.Equal(30, probe.Started.Count);
    }

    [Fact]
    public async Task Dispose_stopsPromptly_withoutRunningTheRest()
    {
        var probe = new Probe(TimeSpan.FromSeconds(30));
        var p = new Prefetcher(probe.Jobs(100), new DemandGate(), new PrefetchOptions { InitialConcurrency = 2, MaxConcurrency = 2 });
        p.Start();
        // Both workers busy (on a loaded machine they may take a while to start) before the dispose.
        for (int i = 0; i < 200 && probe.Started.Count < 2; i++) await Task.Delay(50);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await p.DisposeAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"dispose took {sw.Elapsed}");
        Assert.Equal(2, probe.Started.Count);
        Assert.Equal(0, p.Done);
    }
}
