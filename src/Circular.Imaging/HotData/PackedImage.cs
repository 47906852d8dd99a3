using Circular.Core.Chunks;
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
    private const int Page = BootProfile.PageSize;
    private readonly ForeignPages _foreign;
    private readonly ChunkMap? _map;

    /// <param name="unused">Packs not to use (see <see cref="PackChoice"/>): their regions are read from the chunks.</param>
    /// <param name="foreign">Pages held in other versions' cached packs: read from there, outside this version's regions.</param>
    public PackedImage(IVersionImage inner, PackStore packs, IReadOnlySet<int>? unused = null, ForeignPages? foreign = null) : base(inner)
    {
        _foreign = foreign ?? ForeignPages.None;
        _map = _foreign.Count > 0 ? inner.Manifest.Map : null;
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
                if (_map is not null) take = await ReadOutsideRegionsAsync(offset, buffer[..take], ct).ConfigureAwait(false);
                else await Inner.ReadAsync(offset, buffer[..take], ct).ConfigureAwait(false);
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

    /// <summary>
    /// Reads the start of <paramref name="dest"/>, which lies outside this version's regions: its first page from
    /// another version's pack when one holds it, else every page up to the next one held there from the version
    /// itself. Returns the bytes read (at least one).
    /// </summary>
    private async ValueTask<int> ReadOutsideRegionsAsync(long offset, Memory<byte> dest, CancellationToken ct)
    {
        long page = offset - offset % Page;
        int first = (int)Math.Min(dest.Length, page + Page - offset);
        if (Foreign(page) is var (store, pack, packOffset))
        {
            byte[]? data = null;
            try { data = await store.GetAsync(pack, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is CircularException or IOException) { } // a shortcut only: read the version instead
            if (data is not null)
            {
                data.AsSpan(packOffset + (int)(offset - page), first).CopyTo(dest.Span);
                return first;
            }
            await Inner.ReadAsync(offset, dest[..first], ct).ConfigureAwait(false);
            return first;
        }
        int n = first;
        while (n < dest.Length && Foreign(offset + n) is null) n += Math.Min(Page, dest.Length - n);
        await Inner.ReadAsync(offset, dest[..n], ct).ConfigureAwait(false);
        return n;
    }

    /// <summary>Where another version's cached pack holds the whole page at <paramref name="page"/> of this version.</summary>
    private (PackStore Store, int Pack, int PackOffset)? Foreign(long page) => _map is null ? null : _foreign.Find(_map, page);

    /// <summary>True when every byte of the range is in some region, or in a page another version's cached pack holds.</summary>
    public bool Covers(long offset, long length)
    {
        long end = offset + length;
        while (offset < end)
        {
            int i = RegionAtOrAfter(offset);
            if (i < _starts.Length && _starts[i] <= offset)
            {
                offset = _ends[i];
                continue;
            }
            long page = offset - offset % Page;
            if (Foreign(page) is null) return false;
            offset = page + Page;
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
