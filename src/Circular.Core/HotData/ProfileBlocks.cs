using Circular.Core.Manifests;

namespace Circular.Core.HotData;

public static class ProfileBlocks
{
    /// <summary>The stored entries of the manifest's map a profile's reads touch, in first-read order, each once.</summary>
    public static IEnumerable<long> TouchedBlocks(this BootProfile profile, Manifest manifest)
    {
        var map = manifest.Map;
        var seen = new HashSet<long>();
        foreach (var r in profile.Entries)
            foreach (int i in map.Covering(r.Offset, r.Length))
                if (!map.Id(i).IsZero && seen.Add(i)) yield return i;
    }
}
