using Circular.Core.Manifests;

namespace Circular.Server.Catalog;

/// <summary>How one version's blocks differ from another's: what a client holding the older one downloads anew.</summary>
public static class ManifestChange
{
    public static CatalogChange Between(int fromVersion, Manifest before, Manifest after)
    {
        var (a, b) = (before.Map, after.Map);
        if (!(a.IsGrid && b.IsGrid && before.ChunkSize == after.ChunkSize))
        {
            // No shared grid (content-defined chunks, or another block size): a chunk is new when the older version
            // lists it nowhere.
            var delta = ManifestDelta.Between(a, b);
            return new CatalogChange(fromVersion, delta.NewChunks, delta.NewBytes, ByChunk: true);
        }
        long blocks = 0, bytes = 0;
        for (int i = 0; i < b.Count; i++)
        {
            // A block counts as changed when its content differs from the same block of the older version.
            if (i < a.Count && a.Id(i) == b.Id(i)) continue;
            blocks++;
            bytes += b.Length(i);
        }
        return new CatalogChange(fromVersion, blocks, bytes);
    }
}
