using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Storage.Archive;

namespace Circular.Imaging.HotData;

/// <summary>
/// Pages this client already holds in the cached packs of other versions of the same image, found by what they are:
/// (chunk id, offset in that chunk). A rebuilt version shares most chunks with the one before it, at other offsets, and
/// its packs repeat the pages a client that booted the earlier version fetched as that version's packs; with these, it
/// reads them from there and fetches only what changed. Only what is on local disk counts: the other version's refs
/// entry, manifest, pack index and packs must all be in the cache (or a local archive), so looking costs no download.
/// </summary>
public sealed class ForeignPages
{
    private const int Page = BootProfile.PageSize;
    /// <summary>How many other versions are looked at, newest first.</summary>
    private const int MaxVersions = 3;
    private readonly Dictionary<(ChunkId Chunk, long Offset), (PackStore Store, int Pack, int PackOffset)> _pages = [];
    private readonly HashSet<(PackStore Store, int Pack)> _packs = [];

    public static ForeignPages None { get; } = new();

    public int Count => _pages.Count;

    /// <summary>Decoded bytes of the packs these pages are in (what reading them may keep in memory).</summary>
    public long PackBytes => _packs.Sum(p => (long)p.Store.Index.Packs[p.Pack].Length);

    /// <summary>
    /// Where another version's cached pack holds the whole page at <paramref name="page"/> of the version
    /// <paramref name="map"/> describes: found by the chunk that page lies in and its offset there.
    /// </summary>
    public (PackStore Store, int Pack, int PackOffset)? Find(ChunkMap map, long page)
    {
        if (_pages.Count == 0 || page + Page > map.ImageSize) return null;
        int i = map.IndexOf(page);
        var id = map.Id(i);
        return !id.IsZero && _pages.TryGetValue((id, page - map.Offset(i)), out var at) ? at : null;
    }

    public static async Task<ForeignPages> FindAsync(ArchiveReader reader, string image, VersionEntry self, CancellationToken ct, ImageRefs? known = null)
    {
        var backend = reader.Backend;
        // A local archive holds this version's own packs: nothing to gain.
        if (backend.HoldsLocally(ObjectHandle.Config)) return None;
        // The refs the version was resolved from, when the caller passes them: fetching them again cost a round trip.
        var refs = known ?? await reader.TryGetRefsAsync(image, ct).ConfigureAwait(false);
        if (refs is null) return None;
        var found = new ForeignPages();
        var others = refs.Versions
            .Where(v => v.Version != self.Version && v.ManifestDigest != self.ManifestDigest && v.Packs is not null
                && backend.HoldsLocally(ObjectHandle.PackIndex(image, v.Packs)) && backend.HoldsLocally(ObjectHandle.Manifest(image, v.Version)))
            .OrderByDescending(v => v.Version).Take(MaxVersions);
        foreach (var other in others)
        {
            PackIndex? index;
            Core.Manifests.Manifest manifest;
            try
            {
                index = await reader.GetPackIndexAsync(image, other, ct).ConfigureAwait(false);
                manifest = await reader.GetManifestAsync(image, other, ct).ConfigureAwait(false);
            }
            catch (CircularException) { continue; } // only a shortcut: a copy that fails its checks is simply not used
            if (index is null || index.ManifestDigest != other.ManifestDigest) continue;
            var store = new PackStore(backend, index);
            var map = manifest.Map;
            var held = index.Packs.Select(p => backend.HoldsLocally(ObjectHandle.Pack(p.ChunkId))).ToArray();
            foreach (var region in index.Entries)
            {
                if (!held[region.Pack]) continue;
                // Whole pages only (a region ends on a page except at the image's end).
                for (long offset = region.Offset; offset + Page <= region.Offset + region.Length; offset += Page)
                {
                    int i = map.IndexOf(offset);
                    var id = map.Id(i);
                    if (id.IsZero) continue;
                    if (found._pages.TryAdd((id, offset - map.Offset(i)), (store, region.Pack, region.PackOffset + (int)(offset - region.Offset))))
                        found._packs.Add((store, region.Pack));
                }
            }
        }
        return found;
    }
}
