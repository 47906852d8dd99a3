using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Imaging.Images;
using Circular.Imaging.Publishing;
using Circular.Storage.Archive;
using Circular.Storage.Writing;

namespace Circular.Server.Tests.Support;

/// <summary>
/// An archive built in-process the way `circular push` builds one (ImageChunker → ChunkWriter → PublishAsync),
/// remembering the exact bytes of every version it published so reads can be compared byte for byte.
/// </summary>
public sealed class TestArchive : IDisposable
{
    private readonly Dictionary<string, byte[]> _contents = new(StringComparer.Ordinal);

    private TestArchive(string dir, WritableArchive archive, int chunkSize)
    {
        Dir = dir;
        Archive = archive;
        ChunkSize = chunkSize;
    }

    /// <summary>Parent of <see cref="Root"/>; deleted on dispose. World-readable so nginx workers can serve it.</summary>
    public string Dir { get; }
    public string Root => Archive.Root;
    public WritableArchive Archive { get; }
    public int ChunkSize { get; }

    public static async Task<TestArchive> CreateAsync(int chunkSize = 64 * 1024)
    {
        string dir = Scratch.NewReadableDir("circ-arch-");
        string root = Path.Combine(dir, "archive");
        await WritableArchive.InitAsync(root, new ArchiveConfig { Created = DateTimeOffset.UtcNow, ChunkSize = chunkSize }, CancellationToken.None);
        return new TestArchive(dir, await WritableArchive.OpenAsync(root, CancellationToken.None), chunkSize);
    }

    /// <summary>The standard fixture: os@1 (tag stable), os@2 (a few blocks changed) and tools@1 (shares half of os@1).</summary>
    public static async Task<TestArchive> CreateStandardAsync()
    {
        var a = await CreateAsync();
        var os1 = ImageData.Os1(a.ChunkSize);
        await a.PushAsync("os", os1, tag: "stable");
        await a.PushAsync("os", ImageData.Os2(os1, a.ChunkSize));
        await a.PushAsync("tools", ImageData.Tools(os1, a.ChunkSize));
        return a;
    }

    /// <summary>The bytes of NAME@VERSION as pushed.</summary>
    public byte[] Content(string image, int version) => _contents[$"{image}@{version}"];

    /// <summary>Publishes <paramref name="content"/> as the next version of <paramref name="image"/>; returns its number.</summary>
    public async Task<int> PushAsync(string image, byte[] content, string? tag = null)
    {
        string file = Path.Combine(Dir, $"push-{Guid.NewGuid():N}.img");
        await File.WriteAllBytesAsync(file, content);
        try
        {
            await using var source = LocalImageFile.Open(file);
            await using var chunkLock = await Archive.LockChunksAsync(exclusive: false, CancellationToken.None);
            var writer = new ChunkWriter(Archive.Backend, ChunkCodec.Zstd, 3);
            var chunker = new ImageChunker(writer, ChunkSize) { Parallelism = 2 };
            var result = await chunker.ChunkAsync(source, CancellationToken.None);
            var (manifest, _) = await Archive.PublishAsync(image, (version, prev) =>
            {
                var meta = new ManifestMetadata {
                    Image = image,
                    Version = version,
                    Created = DateTimeOffset.UtcNow,
                    Message = $"test {image} {version}",
                    Parent = prev?.Latest,
                    Codec = "zstd",
                };
                var m = new Manifest(meta, ChunkSize, source.Size, result.Blocks);
                var entry = new VersionEntry {
                    Version = version,
                    ManifestDigest = "",
                    Size = source.Size,
                    ChunkSize = ChunkSize,
                    Created = meta.Created,
                    Message = meta.Message,
                    Blocks = result.Blocks.LongLength,
                    ZeroBlocks = result.ZeroBlocks,
                    AddedChunks = writer.NewChunks,
                    AddedBytes = writer.NewBytes,
                };
                return (m, entry);
            }, tag, CancellationToken.None);
            _contents[$"{image}@{manifest.Metadata.Version}"] = content;
            return manifest.Metadata.Version;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The manifest of NAME@VERSION, read from disk.</summary>
    public async Task<Manifest> ManifestAsync(string image, int version)
    {
        var refs = await Archive.Reader.GetRefsAsync(image, CancellationToken.None);
        return await Archive.Reader.GetManifestAsync(image, refs.Find(version)!, CancellationToken.None);
    }

    /// <summary>Relative path of the chunk holding block <paramref name="block"/> of NAME@VERSION.</summary>
    public async Task<string> ChunkPathAsync(string image, int version, long block) =>
        ArchiveLayout.ChunkPath((await ManifestAsync(image, version)).Blocks[block]);

    /// <summary>A copy of the whole archive directory (for a second mirror that can be damaged on its own).</summary>
    public string CopyTo(string name)
    {
        string dest = Path.Combine(Dir, name);
        Scratch.CopyDirectory(Root, dest);
        Scratch.MakeReadable(dest);
        return dest;
    }

    public void Dispose() => Scratch.Delete(Dir);
}
