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
    /// <summary>Stores one pack's raw content and returns its id and stored (encoded) size.</summary>
    public delegate ValueTask<(ChunkId Id, long Stored)> StorePack(ReadOnlyMemory<byte> raw, CancellationToken ct);

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

    /// <summary>Reads the regions from the image, fills packs of up to packSize bytes in order and stores each.</summary>
    public async Task<PackIndex> BuildAsync(BootProfile profile, string manifestDigest, string profileDigest, StorePack store, CancellationToken ct)
    {
        if (packSize <= 0 || packSize > ChunkFile.MaxChunkLength) throw new ArgumentOutOfRangeException(nameof(packSize));
        var meta = image.Manifest.Metadata;
        var packs = new List<PackInfo>();
        var entries = new List<long[]>();
        byte[] buf = GC.AllocateUninitializedArray<byte>(packSize);
        int fill = 0;

        async ValueTask FlushAsync()
        {
            if (fill == 0) return;
            var (id, stored) = await store(buf.AsMemory(0, fill), ct).ConfigureAwait(false);
            packs.Add(new PackInfo { Id = id.ToHex(), Length = fill, Stored = stored });
            fill = 0;
        }

        foreach (var (offset, length) in HotRegions(profile, image.Manifest))
        {
            long pos = offset, end = offset + length;
            while (pos < end)
            {
                if (fill == packSize) await FlushAsync().ConfigureAwait(false);
                int take = (int)Math.Min(end - pos, packSize - fill);
                await image.ReadAsync(pos, buf.AsMemory(fill, take), ct).ConfigureAwait(false);
                entries.Add([pos, take, packs.Count, fill]);
                fill += take;
                pos += take;
            }
        }
        await FlushAsync().ConfigureAwait(false);
        return new PackIndex {
            Image = meta.Image,
            Version = meta.Version,
            ManifestDigest = manifestDigest,
            ProfileDigest = profileDigest,
            Size = image.Size,
            Packs = packs,
            Regions = entries,
        };
    }
}
