using System.Diagnostics;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Imaging.Images;

namespace Circular.Imaging.HotData;

/// <summary>
/// Records the pages a run reads for the first time, in order, with the time since the run started: the boot
/// profile that prefetching and packing follow. Sits directly over the version (below any overlay), so the guest's
/// reads of its own writes are not recorded.
/// </summary>
public sealed class ProfileRecorder : VersionImageDecorator
{
    private const int Page = BootProfile.PageSize;
    private readonly string _manifestDigest;
    private readonly Stopwatch _clock;
    private readonly ulong[] _seen;
    private readonly List<long[]> _reads = [];
    private readonly Lock _lock = new();

    /// <param name="clock">Started when the run started (so times include start-up).</param>
    public ProfileRecorder(IVersionImage inner, string manifestDigest, Stopwatch clock) : base(inner)
    {
        _manifestDigest = manifestDigest;
        _clock = clock;
        long pages = (inner.Size + Page - 1) / Page;
        _seen = new ulong[(pages + 63) / 64];
    }

    public int Entries
    {
        get { lock (_lock) return _reads.Count; }
    }

    public override async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        Record(offset, buffer.Length);
        await Inner.ReadAsync(offset, buffer, ct).ConfigureAwait(false);
    }

    /// <summary>Adds the pages of [offset, offset+length) not seen before, as runs, merging a run that continues the last entry.</summary>
    private void Record(long offset, long length)
    {
        if (length <= 0) return;
        long first = offset / Page, last = (offset + length - 1) / Page;
        long ms = _clock.ElapsedMilliseconds;
        lock (_lock)
        {
            long runStart = -1;
            for (long p = first; p <= last + 1; p++)
            {
                bool fresh = p <= last && (_seen[p >> 6] & (1UL << (int)(p & 63))) == 0;
                if (fresh)
                {
                    _seen[p >> 6] |= 1UL << (int)(p & 63);
                    if (runStart < 0) runStart = p;
                }
                else if (runStart >= 0)
                {
                    Append(ms, runStart * Page, Math.Min(p * Page, Size) - runStart * Page);
                    runStart = -1;
                }
            }
        }
    }

    private void Append(long ms, long offset, long length)
    {
        if (_reads.Count > 0 && _reads[^1] is var prev && prev[1] + prev[2] == offset)
        {
            prev[2] += length;
            return;
        }
        _reads.Add([ms, offset, length]);
    }

    /// <summary>The profile recorded so far.</summary>
    public BootProfile ToProfile()
    {
        var meta = Manifest.Metadata;
        lock (_lock)
        {
            return new BootProfile {
                Image = meta.Image,
                Version = meta.Version,
                ManifestDigest = _manifestDigest,
                Size = Size,
                ChunkSize = Manifest.ChunkSize,
                Recorded = DateTimeOffset.UtcNow,
                Reads = _reads.Select(r => (long[])r.Clone()).ToList(),
            };
        }
    }
}
