using Circular.Core.Chunks;

namespace Circular.Core.Manifests;

/// <summary>
/// What version B holds that version A does not, by content: the chunks a client holding A downloads for B, and the
/// bytes of B it already has. Works across chunkings and chunk sizes (a chunk is shared when A lists its id anywhere).
/// </summary>
public readonly record struct ManifestDelta(long Chunks, long NewChunks, long NewBytes, long SharedBytes, long ZeroBytes)
{
    /// <summary>Bytes of B that are stored data (not zero runs).</summary>
    public long DataBytes => NewBytes + SharedBytes;

    public static ManifestDelta Between(ChunkMap a, ChunkMap b)
    {
        var inA = new HashSet<ChunkId>();
        foreach (var id in a.Ids) if (!id.IsZero) inA.Add(id);
        var counted = new HashSet<ChunkId>();
        long newChunks = 0, newBytes = 0, shared = 0, zero = 0;
        for (int i = 0; i < b.Count; i++)
        {
            var id = b.Id(i);
            long length = b.Length(i);
            if (id.IsZero) zero += length;
            else if (inA.Contains(id) || !counted.Add(id)) shared += length;
            else
            {
                newChunks++;
                newBytes += length;
            }
        }
        return new ManifestDelta(b.Count, newChunks, newBytes, shared, zero);
    }
}
