using System.Diagnostics;

namespace Circular.Bench.WanProxy;

/// <summary>
/// One direction of the emulated link: a token bucket every connection draws from, so concurrent connections share
/// the bandwidth. Senders may go into debt; each waits until the bucket would have refilled its share, which makes
/// the link a FIFO of serialisation times (a sender's wait includes everyone queued before it).
/// </summary>
public sealed class TokenBucket
{
    private readonly object gate = new();
    private readonly double bytesPerSecond;
    private readonly double capacity;
    private double tokens;
    private long lastTicks;

    /// <param name="bitsPerSecond">Link rate; 0 or less means unlimited.</param>
    /// <param name="burstBytes">Bucket depth: how much may go out back to back after the link was idle.</param>
    public TokenBucket(double bitsPerSecond, int burstBytes)
    {
        bytesPerSecond = bitsPerSecond / 8;
        capacity = burstBytes;
        tokens = burstBytes;
        lastTicks = Stopwatch.GetTimestamp();
    }

    public bool Unlimited => bytesPerSecond <= 0;

    /// <summary>Takes <paramref name="bytes"/> tokens and returns how long the caller must wait before they are sent.</summary>
    public TimeSpan Take(int bytes)
    {
        if (Unlimited)
        {
            return TimeSpan.Zero;
        }
        lock (gate)
        {
            long now = Stopwatch.GetTimestamp();
            tokens = Math.Min(capacity, tokens + (now - lastTicks) / (double)Stopwatch.Frequency * bytesPerSecond);
            lastTicks = now;
            tokens -= bytes;
            return tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-tokens / bytesPerSecond);
        }
    }
}
