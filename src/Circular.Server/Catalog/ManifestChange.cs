using Circular.Core.Manifests;

namespace Circular.Server.Catalog;

/// <summary>How one version's blocks differ from another's: what a client holding the older one downloads anew.</summary>
public static class ManifestChange
{
    public static CatalogChange Between(int fromVersion, Manifest before, Manifest after)
    {
        long blocks = 0, bytes = 0;
        bool sameGrid = before.ChunkSize == after.ChunkSize;
        for (long i = 0; i < after.Blocks.Length; i++)
        {
            // A block counts as changed when its content differs from the same block of the older version (any block
            // when the chunk sizes differ: no grid is shared then).
            if (sameGrid && i < before.Blocks.Length && before.Blocks[i] == after.Blocks[i]) continue;
            blocks++;
            bytes += Math.Min(after.ChunkSize, after.ImageSize - i * after.ChunkSize);
        }
        return new CatalogChange(fromVersion, blocks, bytes);
    }
}
