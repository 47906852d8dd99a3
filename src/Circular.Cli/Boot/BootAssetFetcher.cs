using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Storage.Chunks;

namespace Circular.Cli.Boot;

/// <summary>Writes a boot asset (kernel, initrd) stored in the archive to a local file, chunk by verified chunk.</summary>
public static class BootAssetFetcher
{
    public static async Task<string> FetchAsync(AssetRef asset, int chunkSize, IChunkSource chunks, string path, CancellationToken ct)
    {
        var buf = new byte[chunkSize];
        await using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        long written = 0;
        foreach (var hex in asset.Chunks)
        {
            int n = await chunks.ReadAsync(ChunkId.Parse(hex), buf, ct).ConfigureAwait(false);
            int take = (int)Math.Min(n, asset.Size - written);
            await fs.WriteAsync(buf.AsMemory(0, take), ct).ConfigureAwait(false);
            written += take;
        }
        if (written != asset.Size) throw new Core.Errors.ArchiveFormatException($"boot asset {asset.Name} has {written} bytes, expected {asset.Size}");
        return path;
    }
}
