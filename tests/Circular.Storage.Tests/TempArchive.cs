using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Storage.Archive;
using Circular.Storage.Writing;

namespace Circular.Storage.Tests;

/// <summary>A fresh archive in a temporary directory, with a helper that publishes a version from raw blocks.</summary>
public sealed class TempArchive : IDisposable
{
    public const int Cs = 64 * 1024;

    private readonly Scratch _scratch;

    private TempArchive(Scratch scratch, string dir, WritableArchive archive)
    {
        _scratch = scratch;
        Dir = dir;
        Archive = archive;
    }

    public string Dir { get; }
    public WritableArchive Archive { get; }

    public static async Task<TempArchive> CreateAsync()
    {
        var scratch = new Scratch();
        string dir = scratch["a"];
        await WritableArchive.InitAsync(dir, new ArchiveConfig { Created = DateTimeOffset.UtcNow }, CancellationToken.None);
        return new TempArchive(scratch, dir, await WritableArchive.OpenAsync(dir, CancellationToken.None));
    }

    public static byte[] Block(int seed) => RandomData.Bytes(Cs, seed);

    /// <summary>Publishes blocks (null = zero block) as the next version of <paramref name="image"/>.</summary>
    public Task<int> PushAsync(string image, byte[]?[] blocks, string? tag = null) => PushAsync(Archive, image, blocks, tag);

    /// <summary>Publishes blocks through <paramref name="archive"/> (another writer of the same archive, say).</summary>
    public static async Task<int> PushAsync(WritableArchive archive, string image, byte[]?[] blocks, string? tag = null)
    {
        var Archive = archive;
        var writer = new ChunkWriter(Archive.Backend, ChunkCodec.Zstd, 3);
        var scratch = new byte[ChunkFile.MaxEncodedLength(Cs)];
        var ids = new ChunkId[blocks.Length];
        for (int i = 0; i < blocks.Length; i++)
            if (blocks[i] is { } b) ids[i] = await writer.PutAsync(b, scratch, CancellationToken.None);
        var (m, _) = await Archive.PublishAsync(image, (v, prev) =>
        {
            var meta = new ManifestMetadata { Image = image, Version = v, Created = DateTimeOffset.UtcNow, Parent = prev?.Latest };
            var manifest = new Manifest(meta, Cs, (long)blocks.Length * Cs, ids);
            return (manifest, new VersionEntry { Version = v, ManifestDigest = "", Size = manifest.ImageSize, ChunkSize = Cs, Blocks = manifest.Blocks.LongLength, AddedChunks = writer.NewChunks });
        }, tag, CancellationToken.None);
        return m.Metadata.Version;
    }

    public string ChunkFilePath(byte[] block) => Path.Combine(Dir, ArchiveLayout.ChunkPath(ChunkId.Compute(block)));

    public void Dispose() => _scratch.Dispose();
}
