using Circular.Core.Manifests;

namespace Circular.Core.HotData;

public static class ProfileBlocks
{
    /// <summary>The non-zero blocks a profile's reads touch, in first-read order, each once.</summary>
    public static IEnumerable<long> TouchedBlocks(this BootProfile profile, Manifest manifest)
    {
        int cs = manifest.ChunkSize;
        var seen = new HashSet<long>();
        foreach (var r in profile.Entries)
            for (long b = r.Offset / cs; b * cs < r.Offset + r.Length && b < manifest.Blocks.LongLength; b++)
                if (!manifest.Blocks[b].IsZero && seen.Add(b)) yield return b;
    }
}
