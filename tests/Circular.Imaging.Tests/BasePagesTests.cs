using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Imaging.HotData;
using Circular.Imaging.Images;
using Circular.Storage.Backends;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Imaging.Tests;

/// <summary>
/// Packs of a rebuilt version made against its parent's: version 2 is version 1 moved one page on (so no chunk is
/// shared) with one new and one changed page in what its boot reads. Its own pack holds just those two pages; every
/// other page maps into version 1's pack, and the version reads byte-exact from the two packs without a chunk.
/// </summary>
public sealed class BasePagesTests
{
    private const int Cs = 64 * 1024;
    private const int Page = BootProfile.PageSize;

    private static BootProfile Profile(int version, long size, IEnumerable<(long Offset, long Length)> reads) => new() {
        Image = "os",
        Version = version,
        ManifestDigest = "",
        Size = size,
        ChunkSize = Cs,
        Reads = [.. reads.Select((r, i) => new long[] { i, r.Offset, r.Length })],
    };

    private sealed class Counting(IArchiveBackend inner) : IArchiveBackend
    {
        public int ChunkReads;
        public readonly List<string> PackReads = [];
        public string Location => inner.Location;
        public bool IsWritable => false;
        public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
        {
            if (handle.Kind == ObjectKind.Chunk) Interlocked.Increment(ref ChunkReads);
            if (handle.Kind == ObjectKind.Pack) lock (PackReads) PackReads.Add(handle.Path);
            return inner.TryReadAsync(handle, hints, ct);
        }
        public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => inner.WriteAsync(handle, data, ct);
        public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
        public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => inner.DeleteAsync(path, ct);
    }

    [Fact]
    public async Task A_rebuilt_versions_own_pack_holds_only_the_pages_its_parents_packs_lack()
    {
        var memory = new MemoryBackend();
        var writer = new ChunkWriter(memory, ChunkCodec.Zstd, 3);
        byte[] scratch = new byte[ChunkFile.MaxEncodedLength(Cs)];
        var v1 = new byte[12 * Cs];
        new Random(11).NextBytes(v1);
        var v2 = new byte[12 * Cs];
        new Random(12).NextBytes(v2.AsSpan(0, Page));                   // a new first page ...
        v1.AsSpan(0, 12 * Cs - Page).CopyTo(v2.AsSpan(Page));           // ... then version 1, one page on
        new Random(13).NextBytes(v2.AsSpan(5 * Cs + Page, Page));       // and one page changed

        async Task<Manifest> StoreAsync(byte[] content, int version)
        {
            var blocks = new ChunkId[12];
            for (int b = 0; b < 12; b++) blocks[b] = await writer.PutAsync(content.AsMemory(b * Cs, Cs), scratch, default);
            return new Manifest(new ManifestMetadata { Image = "os", Version = version, Created = DateTimeOffset.UtcNow }, Cs, content.Length, blocks);
        }
        var m1 = await StoreAsync(v1, 1);
        var m2 = await StoreAsync(v2, 2);
        Assert.Empty(m1.Blocks.Intersect(m2.Blocks)); // nothing a chunk-level dedup could share

        var index1 = await new PackBuilder(new ChunkedImage(m1, new BackendChunkSource(memory), "os@1"), 2 * Cs)
            .BuildAsync(Profile(1, v1.Length, [(5 * Cs, 3 * Page), (9 * Cs, Cs)]), "d1", "p1", HotDataTests.StorePacksIn(memory), default);
        var parentPages = new BasePages();
        var parentStore = new PackStore(memory, index1);
        for (int i = 0; i < index1.Packs.Count; i++) parentPages.AddPack(index1.Packs[i], await parentStore.GetAsync(i, default));

        var profile2 = Profile(2, v2.Length, [(0, Page), (5 * Cs + Page, 3 * Page), (9 * Cs + Page, Cs)]);
        var index2 = await new PackBuilder(new ChunkedImage(m2, new BackendChunkSource(memory), "os@2"), 2 * Cs)
            .BuildAsync(profile2, "d2", "p2", HotDataTests.StorePacksIn(memory), default, parentPages);
        PackIndex.Parse(index2.Serialize(), "built against its parent");

        // Its own pack first (the new and the changed page), then version 1's pack, named as it is.
        Assert.Equal(2, index2.Packs.Count);
        Assert.Equal(2 * Page, index2.Packs[0].Length);
        Assert.Equal(index1.Packs[0], index2.Packs[1]);
        Assert.Equal(2L * Page, index2.Entries.Where(r => r.Pack == 0).Sum(r => r.Length));
        Assert.Equal(Page + 3L * Page + Cs, index2.Entries.Sum(r => r.Length));

        var counting = new Counting(memory);
        var packed = new PackedImage(new ChunkedImage(m2, new BackendChunkSource(counting), "os@2"), new PackStore(counting, index2));
        foreach (var read in profile2.Entries)
        {
            Assert.True(packed.Covers(read.Offset, read.Length));
            var buf = new byte[read.Length];
            await packed.ReadAsync(read.Offset, buf, default);
            Assert.True(v2.AsSpan((int)read.Offset, (int)read.Length).SequenceEqual(buf));
        }
        Assert.Equal(0, counting.ChunkReads);
        Assert.Equal(2, counting.PackReads.Distinct().Count());

        // Without a parent the same profile packs every page into the version's own packs.
        var alone = await new PackBuilder(new ChunkedImage(m2, new BackendChunkSource(memory), "os@2"), 2 * Cs)
            .BuildAsync(profile2, "d2", "p2", HotDataTests.StorePacksIn(memory), default);
        Assert.Equal(Page + 3L * Page + Cs, alone.Packs.Sum(p => (long)p.Length));
    }
}
