using System.Diagnostics;

namespace Circular.Storage.Http;

/// <summary>One base URL of an archive and what we have learned about it: round-trip time and recent failures.</summary>
public sealed class Mirror(Uri baseUri)
{
    private readonly Lock _lock = new();
    private double _rttMs = double.NaN;
    private int _consecutiveFailures;
    private long _downUntil; // Stopwatch ticks
    private long _measuredAt; // Stopwatch ticks of the last success, 0 for never
    private bool _rttClean; // whether _rttMs rests on samples free of connection setup

    public Uri BaseUri { get; } = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
    public string Name => BaseUri.AbsoluteUri.TrimEnd('/');
    /// <summary>"scheme://host:port", as <see cref="ConnectionSetups"/> keys its setups.</summary>
    internal string Origin { get; } = ConnectionSetups.OriginOf(baseUri);

    /// <summary>Smoothed round-trip time in ms; NaN until measured.</summary>
    public double RttMs { get { lock (_lock) return _rttMs; } }

    public bool IsDown => Stopwatch.GetTimestamp() < Interlocked.Read(ref _downUntil);

    /// <summary>Time since the round trip was last measured (infinite if never).</summary>
    public TimeSpan SinceMeasured
    {
        get
        {
            long at = Interlocked.Read(ref _measuredAt);
            return at == 0 ? TimeSpan.MaxValue : Stopwatch.GetElapsedTime(at);
        }
    }

    /// <summary>
    /// An answer came after <paramref name="elapsedMs"/>. A <paramref name="clean"/> sample (no connection setup
    /// overlapped the request) replaces an estimate made of unclean ones and is averaged with clean ones; an unclean
    /// sample only counts while there is no clean one (a server that closes every connection is still ranked).
    /// </summary>
    public void RecordSuccess(double elapsedMs, bool clean = true)
    {
        lock (_lock)
        {
            // Left out, an unclean sample is no measurement: the mirror is reprobed if no other comes.
            if (clean || !_rttClean)
            {
                _rttMs = double.IsNaN(_rttMs) || clean && !_rttClean ? elapsedMs : 0.8 * _rttMs + 0.2 * elapsedMs;
                _measuredAt = Stopwatch.GetTimestamp();
            }
            _rttClean |= clean;
            _consecutiveFailures = 0;
            _downUntil = 0;
        }
    }

    /// <summary>Marks the mirror down for a while growing with consecutive failures (1 s doubling to 30 s).</summary>
    public void RecordFailure()
    {
        lock (_lock)
        {
            _consecutiveFailures++;
            double secs = Math.Min(30, Math.Pow(2, _consecutiveFailures - 1));
            _downUntil = Stopwatch.GetTimestamp() + (long)(secs * Stopwatch.Frequency);
        }
    }

    public Uri Resolve(string path) => new(BaseUri, path);
}
