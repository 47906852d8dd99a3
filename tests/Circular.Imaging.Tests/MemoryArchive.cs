using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Imaging.Tests;

/// <summary>
/// An archive in memory (a <see cref="MemoryBackend"/>) published the way `push` publishes: chunks, manifests, refs and
/// images.json, so readers, catalogs and overlays can be tested without files or processes.
/// </summary>
public sealed class MemoryArchive
{
    public const int ChunkSize = 64 * 1024;
    private readonly Dictionary<(string, int), byte[]> _content = [];

    public MemoryBackend Backend { get; } = new();

    /// <summary>The bytes of a published version.</summary>
    public byte[] Content(string image, int version) => _content[(image, version)];

    /// <summary>An archive holding each image's versions (content made from a seed: random, with a zero block in the middle).</summary>
    public static async Task<MemoryArchive> CreateAsync(params (string Image, int Versions, int Blocks)[] images)
    {
        var a = new MemoryArchive();
        await a.Backend.WriteAsync(ArchiveLayout.ConfigPath, new ArchiveConfig { ChunkSize = ChunkSize }.Serialize(), default);
        foreach (var (image, versions, blocks) in images)
            for (int v = 1; v <= versions; v++) await a.PublishAsync(image, v, Bytes(blocks, seed: image.Length * 100 + v));
        await a.Backend.WriteAsync(ArchiveLayout.ImageIndexPath, new ImageIndex { Images = images.Select(i => i.Image).Order(StringComparer.Ordinal).ToList() }.Serialize(), default);
        return a;
    }

    private static byte[] Bytes(int blocks, int seed)
    {
        var b = new byte[blocks * ChunkSize - 1000]; // a short last block
        new Random(seed).NextBytes(b);
        if (blocks > 2) b.AsSpan(ChunkSize, ChunkSize).Clear();
        return b;
    }

    private async Task PublishAsync(string image, int version, byte[] content)
    {
        _content[(image, version)] = content;
        var writer = new ChunkWriter(Backend, ChunkCodec.Zstd, 1);
        byte[] scratch = new byte[ChunkFile.MaxEncodedLength(ChunkSize)];
        long count = Manifest.BlockCount(content.Length, ChunkSize);
        var blocks = new ChunkId[count];
        for (int b = 0; b < count; b++)
        {
            var raw = content.AsMemory(b * ChunkSize, (int)Math.Min(ChunkSize, content.Length - (long)b * ChunkSize));
            blocks[b] = raw.Span.ContainsAnyExcept((byte)0) ? await writer.PutAsync(raw, scratch, default) : ChunkId.Zero;
        }
        var manifest = new Manifest(new ManifestMetadata { Image = image, Version = version, Created = DateTimeOffset.UtcNow }, ChunkSize, content.Length, blocks);
        byte[] m = manifest.Serialize();
        await Backend.WriteAsync(ArchiveLayout.ManifestPath(image, version), m, default);
        var entry = new VersionEntry {
            Version = version,
            ManifestDigest = Manifest.Digest(m),
            Size = content.Length,
            ChunkSize = ChunkSize,
            Blocks = count,
            ZeroBlocks = blocks.Count(b => b.IsZero),
            Created = DateTimeOffset.UtcNow,
        };
        var old = Backend.Files.TryGetValue(ArchiveLayout.RefsPath(image), out var bytes) ? ImageRefs.Parse(bytes, image) : null;
        var refs = new ImageRefs { Image = image, Serial = (old?.Serial ?? 0) + 1, Latest = version, Tags = old?.Tags ?? new(StringComparer.Ordinal), Versions = [.. old?.Versions ?? [], entry] };
        if (version == 1) refs.Tags["first"] = 1;
        await Backend.WriteAsync(ArchiveLayout.RefsPath(image), refs.Serialize(), default);
    }

    public Task<ArchiveReader> ReaderAsync() => ArchiveReader.OpenAsync(Backend, default);

    /// <summary>A version as a plain chunked image (the base an overlay sits on).</summary>
    public async Task<ChunkedImage> ImageAsync(string spec)
    {
        var version = await (await ReaderAsync()).OpenVersionAsync(ImageSpec.Parse(spec), default);
        return new ChunkedImage(version.Manifest, new BackendChunkSource(Backend), version.Name);
    }
}
