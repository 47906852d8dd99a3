using System.Collections.Concurrent;

namespace Circular.Server.Tests.Support;

public enum StallMode { None, BeforeHeaders, MidBody }

/// <summary>
/// Switchable misbehaviour of a <see cref="FaultServer"/>. Faults apply to paths <see cref="Applies"/> selects
/// (chunk files by default, so an archive can still be opened); corruption applies to the listed paths only.
/// </summary>
public sealed class Faults
{
    private int _failNext, _truncateNext;

    public Func<string, bool> Applies { get; set; } = p => p.StartsWith("chunks/", StringComparison.Ordinal);

    /// <summary>Answer the next N faulty-path requests with HTTP 500.</summary>
    public int FailNext { set => Volatile.Write(ref _failNext, value); }
    public bool FailAll { get; set; }

    /// <summary>Declare the full Content-Length, send half the body, then drop the connection (next N, or all).</summary>
    public int TruncateNext { set => Volatile.Write(ref _truncateNext, value); }
    public bool TruncateAll { get; set; }

    public StallMode Stall { get; set; }

    /// <summary>Added before every answer (any path): a slow or distant mirror.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Added once per new connection, before its first request is read: a connection setup's cost.</summary>
    public TimeSpan ConnectionSetupDelay { get; set; }

    /// <summary>Paths served with one byte flipped in the middle.</summary>
    public ConcurrentDictionary<string, byte> Corrupt { get; } = new(StringComparer.Ordinal);

    /// <summary>Send "Accept-Ranges: bytes" (the server never honours Range either way: it is a plain-file server).</summary>
    public bool AdvertiseRanges { get; set; }

    internal bool TakeFailure() => FailAll || Interlocked.Decrement(ref _failNext) >= 0;
    internal bool TakeTruncation() => TruncateAll || Interlocked.Decrement(ref _truncateNext) >= 0;
}
