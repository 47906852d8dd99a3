using Circular.Core.Chunks;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Imaging.Images;

namespace Circular.Imaging.HotData;

/// <summary>
/// Gathers the pages a boot profile read into pack files, in access order (the seed's ext2optimizer, at the block
/// layer, so for any file system): a cold boot then fetches a few packs holding what it reads rather than every
/// 256 KiB chunk it touches. Pages of zero blocks are left out; they cost nothing to read.
/// </summary>
public sealed class PackBuilder(IVersionImage image, int packSize)
{
    /// <summary>
    /// Stores one pack's raw content and returns its id, stored (encoded) size and the SHA-256 of the stored file
    /// (<see cref="ChunkId.Zero"/> when not known: readers then hash the content).
    /// </summary>
    public delegate ValueTask<(ChunkId Id, long Stored, ChunkId StoredDigest)> StorePack(ReadOnlyMemory<byte> raw, CancellationToken ct);

    /// <summary>The profile's regions in access order, without the parts that lie in zero blocks.</summary>
    public static List<(long Offset, long Length)> HotRegions(BootProfile profile, Manifest manifest)
    {
        var map = manifest.Map;
        var regions = new List<(long Offset, long Length)>();
        foreach (var read in profile.Entries)
        {
            long pos = read.Offset, end = Math.Min(read.Offset + read.Length, manifest.ImageSize);
            while (pos < end)
            {
                int entry = map.IndexOf(pos);
                long stop = Math.Min(end, map.End(entry));
                if (!map.Id(entry).IsZero)
                {
                    if (regions.Count > 0 && regions[^1].Offset + regions[^1].Length == pos)
                        regions[^1] = (regions[^1].Offset, regions[^1].Length + stop - pos);
                    else
                        regions.Add((pos, stop - pos));
                }
                pos = stop;
            }
        }
        return regions;
    }

    /// <summary>
    /// Reads the regions from the image, fills packs of up to packSize bytes in order and stores each. With
    /// <paramref name="reuse"/>, a page already held in an earlier version's pack is mapped there instead, and the
    /// index names that pack after this version's own.
    /// </summary>
    public async Task<PackIndex> BuildAsync(BootProfile profile, string manifestDigest, string profileDigest, StorePack store, CancellationToken ct, BasePages? reuse = null)
    {
        if (packSize <= 0 || packSize > ChunkFile.MaxChunkLength) throw new ArgumentOutOfRangeException(nameof(packSize));
        reuse ??= BasePages.None;
        var meta = image.Manifest.Metadata;
        var packs = new List<PackInfo>();
        var reused = new List<PackInfo>();
        var reusedNumber = new Dictionary<string, int>(StringComparer.Ordinal);
        // Pack keys: n >= 0 is this version's pack n; ~n is reused pack n (numbered after this version's own at the end).
        var regions = new List<(long Offset, long Length, int Pack, int PackOffset)>();
        byte[] buf = GC.AllocateUninitializedArray<byte>(packSize);
        byte[] page = new byte[BootProfile.PageSize];
        int fill = 0;

        async ValueTask FlushAsync()
        {
            if (fill == 0) return;
            var (id, stored, digest) = await store(buf.AsMemory(0, fill), ct).ConfigureAwait(false);
            packs.Add(new PackInfo { Id = id.ToHex(), Length = fill, Stored = stored, StoredDigest = digest.IsZero ? null : digest.ToHex() });
            fill = 0;
        }

        void Add(long offset, int length, int pack, int packOffset)
        {
            if (regions.Count > 0 && regions[^1] is var r && r.Pack == pack && r.Offset + r.Length == offset && r.PackOffset + r.Length == packOffset)
                regions[^1] = r with { Length = r.Length + length };
            else
                regions.Add((offset, length, pack, packOffset));
        }

        foreach (var (offset, length) in HotRegions(profile, image.Manifest))
        {
            long pos = offset, end = offset + length;
            while (pos < end)
            {
                int take = (int)Math.Min(end - pos, page.Length - pos % page.Length);
                await image.ReadAsync(pos, page.AsMemory(0, take), ct).ConfigureAwait(false);
                if (reuse.TryFind(page.AsSpan(0, take), out var held, out int heldAt))
                {
                    if (!reusedNumber.TryGetValue(held.Id, out int n))
                    {
                        reusedNumber[held.Id] = n = reused.Count;
                        reused.Add(held);
                    }
                    Add(pos, take, ~n, heldAt);
                }
                else
                {
                    if (fill + take > packSize) await FlushAsync().ConfigureAwait(false);
                    page.AsSpan(0, take).CopyTo(buf.AsSpan(fill));
                    Add(pos, take, packs.Count, fill);
                    fill += take;
                }
                pos += take;
            }
        }
        await FlushAsync().ConfigureAwait(false);
        int own = packs.Count;
        packs.AddRange(reused);
        return new PackIndex {
            Image = meta.Image,
            Version = meta.Version,
            ManifestDigest = manifestDigest,
            ProfileDigest = profileDigest,
            Size = image.Size,
            Packs = packs,
            Regions = regions.Select(r => new[] { r.Offset, r.Length, r.Pack >= 0 ? r.Pack : own + ~r.Pack, r.PackOffset }).ToList(),
        };
    }
}
