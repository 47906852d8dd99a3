namespace Circular.Storage.Prefetch;

/// <summary>One object to fetch ahead of need: what it is (for messages), its size in bytes and how to fetch it.</summary>
public sealed record PrefetchJob(string What, long Bytes, Func<CancellationToken, ValueTask> Run);

public sealed record PrefetchOptions
{
    /// <summary>Requests in flight at the start; the prefetcher climbs from here while throughput keeps rising.</summary>
    public int InitialConcurrency { get; init; } = 4;
    /// <summary>Stays below the HTTP connection limit so a waiting read always finds a free connection.</summary>
    public int MaxConcurrency { get; init; } = 12;
}
