using Circular.Core.Archive;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Storage.Backends;
using Circular.Storage.Chunks;

namespace Circular.Imaging.HotData;

/// <summary>
/// Which of a version's packs a client should not fetch: those whose pages it mostly holds already, as chunks of a
/// version it read before (a rebuilt image shares most chunks with the last one, and its packs repeat that data). For
/// each pack not held locally itself, the chunks its regions lie in that are not local are what reading without the
/// pack costs; when those add up to less than the pack, the chunks are cheaper and the pack is left out.
/// </summary>
public static class PackChoice
{
    /// <param name="foreign">Pages held in other versions' cached packs: they count as held.</param>
    public static HashSet<int> Unneeded(PackIndex index, ChunkMap map, IChunkSource chunks, IArchiveBackend backend, ForeignPages? foreign = null)
    {
        foreign ??= ForeignPages.None;
        var missing = new HashSet<int>[index.Packs.Count];
        for (int p = 0; p < missing.Length; p++) missing[p] = [];
        foreach (var region in index.Entries)
            foreach (int i in map.Covering(region.Offset, region.Length))
            {
                var chunk = map.Ref(i);
                if (chunk.Id.IsZero || chunks.IsLocal(chunk)) continue;
                if (!AllForeign(region, map, i, foreign)) missing[region.Pack].Add(i);
            }
        var unneeded = new HashSet<int>();
        for (int p = 0; p < missing.Length; p++)
        {
            var info = index.Packs[p];
            if (backend.HoldsLocally(ObjectHandle.Pack(info.ChunkId))) continue;
            if (missing[p].Sum(i => map.Length(i)) < info.Length) unneeded.Add(p);
        }
        return unneeded;
    }

    /// <summary>Whether every page of the region within chunk <paramref name="i"/> is held in another version's pack.</summary>
    private static bool AllForeign(PackRegion region, ChunkMap map, int i, ForeignPages foreign)
    {
        if (foreign.Count == 0) return false;
        long from = Math.Max(region.Offset, map.Offset(i)), to = Math.Min(region.Offset + region.Length, map.End(i));
        for (long page = from - from % BootProfile.PageSize; page < to; page += BootProfile.PageSize)
            if (foreign.Find(map, page) is null) return false;
        return true;
    }
}
