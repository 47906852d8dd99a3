using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Imaging.Diagnostics;
using Circular.Imaging.Images;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Imaging.HotData;

/// <summary>
/// Serves the regions a pack index lists from its packs and everything else from the version below, so a cold boot
/// fetches a few packs holding what it reads instead of every 256 KiB chunk it touches. Packs hold the version's own
/// bytes (checked when they were built and verified by id when fetched), so reads return the same data either way.
/// </summary>
public sealed class PackedImage : VersionImageDecorator
{
    private readonly PackStore _packs;
    // Regions sorted by image offset, as parallel arrays for a binary search on the read path.
    private readonly long[] _starts;
    private readonly long[] _ends;
    private readonly int[] _pack;
    private readonly int[] _packOffset;
    private readonly bool[] _broken;

    /// <param name="unused">Packs not to use (see <see cref="PackChoice"/>): their regions are read from the chunks.</param>
    public PackedImage(IVersionImage inner, PackStore packs, IReadOnlySet<int>? unused = null) : base(inner)
    {
        _packs = packs;
        var regions = packs.Index.Entries.Where(r => unused is null || !unused.Contains(r.Pack)).OrderBy(r => r.Offset).ToArray();
        _starts = regions.Select(r => r.Offset).ToArray();
        _ends = regions.Select(r => r.Offset + r.Length).ToArray();
        _pack = regions.Select(r => r.Pack).ToArray();
        _packOffset = regions.Select(r => r.PackOffset).ToArray();
        _broken = new bool[packs.Index.Packs.Count];
    }

    /// <summary>Where a warning about a bad pack goes.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;

    public PackStore Packs => _packs;

    public override async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            int i = RegionAtOrAfter(offset);
            int take;
            if (i < _starts.Length && _starts[i] <= offset)
            {
                take = (int)Math.Min(buffer.Length, _ends[i] - offset);
                if (await TryGetPackAsync(_pack[i], ct).ConfigureAwait(false) is { } pack)
                    pack.AsSpan(_packOffset[i] + (int)(offset - _starts[i]), take).CopyTo(buffer.Span);
                else
                    await Inner.ReadAsync(offset, buffer[..take], ct).ConfigureAwait(false);
            }
            else
            {
                long stop = i < _starts.Length ? _starts[i] : long.MaxValue;
                take = (int)Math.Min(buffer.Length, stop - offset);
                await Inner.ReadAsync(offset, buffer[..take], ct).ConfigureAwait(false);
            }
            buffer = buffer[take..];
            offset += take;
        }
    }

    /// <summary>
    /// A pack that is missing or corrupt on every mirror costs speed, not data: its regions are then read from the
    /// version's chunks, which hold the same bytes. Unreachable servers still fail the read (chunks would fail too).
    /// </summary>
    private async ValueTask<byte[]?> TryGetPackAsync(int pack, CancellationToken ct)
    {
        if (_broken[pack]) return null;
        try { return await _packs.GetAsync(pack, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is ChunkIntegrityException or ArchiveFormatException)
        {
            if (!_broken[pack]) Log.PackUnusable(Name, pack, e.Message);
            _broken[pack] = true;
            return null;
        }
    }

    /// <summary>True when every byte of the range is in some region.</summary>
    public bool Covers(long offset, long length)
    {
        long end = offset + length;
        while (offset < end)
        {
            int i = RegionAtOrAfter(offset);
            if (i >= _starts.Length || _starts[i] > offset) return false;
            offset = _ends[i];
        }
        return true;
    }

    /// <summary>The first region that ends after <paramref name="offset"/> (it may start after it too).</summary>
    private int RegionAtOrAfter(long offset)
    {
        int lo = 0, hi = _ends.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ends[mid] <= offset) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
