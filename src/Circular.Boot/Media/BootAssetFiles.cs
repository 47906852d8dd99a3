using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Storage.Chunks;

namespace Circular.Boot.Media;

/// <summary>A version's kernel and initrd (the seed's "kernel and miniroot"), written to local files from their chunks.</summary>
public static class BootAssetFiles
{
    /// <summary>
    /// Writes a boot asset to <paramref name="path"/>, fetching its chunks <paramref name="parallelism"/> at a time: over a
    /// WAN one chunk after another costs a round trip each (a 39 MB kernel + initrd is 156 chunks). The chunks go through
    /// the client's caches like any other, so the next boot reads them locally.
    /// </summary>
    public static async Task<string> FetchAsync(AssetRef asset, int chunkSize, IChunkSource chunks, string path, CancellationToken ct, int parallelism = 16)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);
        RandomAccess.SetLength(handle, asset.Size);
        long total = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct };
        await Parallel.ForEachAsync(asset.Chunks.Select((hex, i) => (Id: ChunkId.Parse(hex), Index: i)), options, async (c, token) =>
        {
            byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(chunkSize);
            try
            {
                long offset = (long)c.Index * chunkSize;
                int n = await chunks.ReadAsync(c.Id, buf.AsMemory(0, chunkSize), token).ConfigureAwait(false);
                int take = (int)Math.Min(n, asset.Size - offset);
                if (take < 0 || (take < chunkSize && offset + take != asset.Size))
                    throw new ArchiveFormatException($"boot asset {asset.Name}: chunk {c.Index} holds {n} bytes");
                await RandomAccess.WriteAsync(handle, buf.AsMemory(0, take), offset, token).ConfigureAwait(false);
                Interlocked.Add(ref total, take);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buf);
            }
        }).ConfigureAwait(false);
        if (total != asset.Size) throw new ArchiveFormatException($"boot asset {asset.Name} has {total} bytes, expected {asset.Size}");
        return path;
    }
}
