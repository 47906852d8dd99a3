using System.Diagnostics;
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

public class HotDataTests
{
    private const int Cs = 64 * 1024;
    private const int Page = BootProfile.PageSize;

    /// <summary>A 16-chunk version in memory; chunk 3 is a zero block.</summary>
    private static async Task<(byte[] Content, Manifest Manifest, MemoryBackend Backend)> VersionAsync()
    {
        var content = new byte[16 * Cs];
        new Random(7).NextBytes(content);
        content.AsSpan(3 * Cs, Cs).Clear();
        var backend = new MemoryBackend();
        var writer = new ChunkWriter(backend, ChunkCodec.Zstd, 3);
        var blocks = new ChunkId[16];
        byte[] scratch = new byte[ChunkFile.MaxEncodedLength(Cs)];
        for (int b = 0; b < 16; b++)
            blocks[b] = b == 3 ? ChunkId.Zero : await writer.PutAsync(content.AsMemory(b * Cs, Cs), scratch, CancellationToken.None);
        var meta = new ManifestMetadata { Image = "os", Version = 1, Created = DateTimeOffset.UtcNow };
        return (content, new Manifest(meta, Cs, content.Length, blocks), backend);
    }

    private static ChunkedImage Open(Manifest m, IArchiveBackend backend) => new(m, new BackendChunkSource(backend), "os@1");

    [Fact]
    public async Task Recorder_keepsFirstReadsOfEachPage_inOrder_mergingRunsThatContinue()
    {
        var (content, m, backend) = await VersionAsync();
        var rec = new ProfileRecorder(Open(m, backend), "d", Stopwatch.StartNew());
        var buf = new byte[5 * Page];
        await rec.ReadAsync(Page, buf.AsMemory(0, Page), default);            // page 1
        await rec.ReadAsync(2 * Page, buf.AsMemory(0, 2 * Page), default);    // pages 2-3 continue the run
        await rec.ReadAsync(0, buf.AsMemory(0, 5 * Page), default);           // only pages 0 and 4 are new
        Assert.True(content.AsSpan(0, 5 * Page).SequenceEqual(buf.AsSpan(0, 5 * Page)));
        await rec.ReadAsync(10 * Cs + 100, buf.AsMemory(0, 10), default);     // a small unaligned read: its page

        var p = rec.ToProfile();
        Assert.Equal([(Page, 3 * Page), (0, Page), (4 * Page, Page), (10 * Cs, Page)], p.Entries.Select(e => (e.Offset, e.Length)));
        Assert.Equal("d", p.ManifestDigest);
        Assert.Equal(content.LongLength, p.Size);
        BootProfile.Parse(p.Serialize(), "recorded"); // what it writes is a valid profile
    }

    private static BootProfile ScatteredProfile(long size) => new() {
        Image = "os",
        Version = 1,
        ManifestDigest = "d",
        Size = size,
        ChunkSize = Cs,
        // Out of offset order on purpose, one run crossing a chunk boundary, one inside the zero block.
        Reads = [[0, 9 * Cs, 3 * Page], [1, Cs - Page, 2 * Page], [2, 3 * Cs + Page, Page], [3, 0, Page], [4, 15 * Cs, Cs]],
    };

    private static async Task<(PackIndex Index, MemoryBackend Backend)> PackAsync(Manifest m, MemoryBackend backend, int packSize)
    {
        var builder = new PackBuilder(Open(m, backend), packSize);
        var index = await builder.BuildAsync(ScatteredProfile(m.ImageSize), "d", "p", StorePacksIn(backend), default);
        return (index, backend);
    }

    /// <summary>Stores each pack the builder makes in <paramref name="backend"/>, as `optimize` does in an archive.</summary>
    internal static PackBuilder.StorePack StorePacksIn(MemoryBackend backend) => async (raw, ct) =>
    {
        var id = ChunkId.Compute(raw.Span);
        byte[] file = new byte[ChunkFile.MaxEncodedLength(raw.Length)];
        int n = ChunkFile.Encode(raw.Span, ChunkCodec.Zstd, 3, file);
        await backend.WriteAsync(ArchiveLayout.PackPath(id), file.AsMemory(0, n), ct);
        return (id, n, ChunkId.Compute(file.AsSpan(0, n)));
    };

    [Fact]
    public async Task PackBuilder_packsProfiledPages_inAccessOrder_skippingZeroBlocks_andSplittingAtPackSize()
    {
        var (_, m, backend) = await VersionAsync();
        var (index, _) = await PackAsync(m, backend, Cs);
        var regions = index.Entries.ToList();
        // 3 + 2 + 1 + 16 pages, zero-block page left out: 22 pages = 1.375 packs of 64 KiB.
        Assert.Equal(22L * Page, regions.Sum(r => r.Length));
        Assert.Equal(2, index.Packs.Count);
        Assert.Equal(9L * Cs, regions[0].Offset);
        Assert.Equal(0, regions[0].PackOffset);
        Assert.DoesNotContain(regions, r => r.Offset < 4 * Cs && r.Offset + r.Length > 3 * Cs);
        Assert.Equal(2, regions.Count(r => r.Offset >= 15 * Cs)); // the 64 KiB run is split across the two packs
        PackIndex.Parse(index.Serialize(), "built"); // valid by its own rules
    }

    /// <summary>A chunk source that says which chunks it holds locally (a disk cache filled by an earlier version).</summary>
    private sealed class LocalSource(IChunkSource inner, IReadOnlySet<ChunkId> local) : IChunkSource
    {
        public ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct) => inner.ReadAsync(chunk, destination, ct);
        public bool IsLocal(ChunkRef chunk) => local.Contains(chunk.Id);
    }

    [Fact]
    public async Task A_pack_whose_data_the_client_holds_as_chunks_is_not_fetched()
    {
        var (content, m, backend) = await VersionAsync();
        var (index, _) = await PackAsync(m, backend, Cs);
        var all = m.Blocks.Where(b => !b.IsZero).ToHashSet();
        IChunkSource Source(IEnumerable<ChunkId> local) => new LocalSource(new BackendChunkSource(backend), local.ToHashSet());

        // A cold client needs every pack: the chunks behind a pack always hold at least its pages.
        Assert.Empty(PackChoice.Unneeded(index, m.Map, Source([]), backend));
        // A client holding every chunk needs none.
        Assert.Equal([0, 1], PackChoice.Unneeded(index, m.Map, Source(all), backend).Order());
        // Pack 1 lies in chunk 15 alone; pack 0 also in chunk 9, which fetched alone would cost as much as the pack.
        Assert.Equal([1], PackChoice.Unneeded(index, m.Map, Source(all.Where(b => b != m.Blocks[9])), backend));
        // A pack that is local itself (a local archive, or cached) is always used.
        Assert.Empty(PackChoice.Unneeded(index, m.Map, Source(all), new LocalPacks(backend)));

        // Read with both packs left out: the version's bytes, and no pack fetched.
        var counting = new CountingBackend(backend);
        var packed = new PackedImage(Open(m, counting), new PackStore(counting, index), new HashSet<int> { 0, 1 });
        Assert.False(packed.Covers(9 * Cs, Page));
        var buf = new byte[content.Length];
        await packed.ReadAsync(0, buf, default);
        Assert.True(content.AsSpan().SequenceEqual(buf));
        Assert.Equal(0, counting.Reads("packs/"));
    }

    /// <summary>A backend whose packs are local files.</summary>
    private sealed class LocalPacks(IArchiveBackend inner) : IArchiveBackend
    {
        public string Location => inner.Location;
        public bool IsWritable => false;
        public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) => inner.TryReadAsync(handle, hints, ct);
        public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException();
        public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
        public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException();
        public bool HoldsLocally(ObjectHandle handle) => handle.Kind == ObjectKind.Pack;
    }

    [Fact]
    public async Task PackedImage_readsTheSameBytesAsTheVersion_fetchingPacksForProfiledPages()
    {
        var (content, m, backend) = await VersionAsync();
        var (index, _) = await PackAsync(m, backend, Cs);
        var counting = new CountingBackend(backend);
        var packed = new PackedImage(Open(m, counting), new PackStore(counting, index));

        // Profiled pages only: no chunk is fetched.
        var page = new byte[3 * Page];
        await packed.ReadAsync(9 * Cs, page, default);
        Assert.True(content.AsSpan(9 * Cs, 3 * Page).SequenceEqual(page));
        await packed.ReadAsync(15 * Cs + 50000, page.AsMemory(0, 5000), default); // the part of the split run in pack 1
        Assert.True(content.AsSpan(15 * Cs + 50000, 5000).SequenceEqual(page.AsSpan(0, 5000)));
        Assert.Equal(0, counting.Reads("chunks/"));
        Assert.Equal(2, counting.Reads("packs/"));

        // Any range, profiled or not: the same bytes as the version itself.
        var rnd = new Random(3);
        for (int i = 0; i < 300; i++)
        {
            int off = rnd.Next(content.Length - 1), len = rnd.Next(1, Math.Min(3 * Cs, content.Length - off));
            var buf = new byte[len];
            await packed.ReadAsync(off, buf, default);
            Assert.True(content.AsSpan(off, len).SequenceEqual(buf), $"read at {off} (+{len})");
        }
        Assert.Equal(2, counting.Reads("packs/")); // each pack fetched once
    }

    [Fact]
    public async Task PackedImage_corruptPack_fallsBackToChunks_withTheRightBytes()
    {
        var (content, m, backend) = await VersionAsync();
        var (index, _) = await PackAsync(m, backend, Cs);
        string path = ArchiveLayout.PackPath(index.Packs[0].ChunkId);
        backend.Files[path] = backend.Files[path].ToArray();
        backend.Files[path][^5] ^= 0xff;
        var log = new TestLog();
        var packed = new PackedImage(Open(m, backend), new PackStore(backend, index)) { Log = log };

        var buf = new byte[3 * Page];
        await packed.ReadAsync(9 * Cs, buf, default);
        Assert.True(content.AsSpan(9 * Cs, 3 * Page).SequenceEqual(buf));
        Assert.Contains("without pack 0", log.ToString());
    }

    [Fact]
    public async Task Packs_carry_their_stored_files_digest_and_a_pack_stored_otherwise_still_reads_right()
    {
        var (content, m, backend) = await VersionAsync();
        var (index, _) = await PackAsync(m, backend, Cs);
        foreach (var pack in index.Packs)
            Assert.Equal(ChunkId.Compute(backend.Files[ArchiveLayout.PackPath(pack.ChunkId)]), pack.Ref.Stored);

        // An index whose stored digest names another file (the pack re-encoded since, say, by a mirror): the file the
        // reader gets is then checked by hashing its content against the id, and the pack is still used.
        index = index with { Packs = [index.Packs[0] with { StoredDigest = new string('e', 64) }, .. index.Packs.Skip(1)] };
        var log = new TestLog();
        var store = new PackStore(backend, index);
        var packed = new PackedImage(Open(m, backend), store) { Log = log };

        var buf = new byte[3 * Page];
        await packed.ReadAsync(9 * Cs, buf, default);
        Assert.True(content.AsSpan(9 * Cs, 3 * Page).SequenceEqual(buf));
        Assert.Equal(1, store.Loaded);
        Assert.DoesNotContain("without pack", log.ToString());
    }

    [Fact]
    public async Task PackStore_concurrentReaders_shareOneDownload()
    {
        var (_, m, backend) = await VersionAsync();
        var (index, _) = await PackAsync(m, backend, Cs);
        var counting = new CountingBackend(backend) { Delay = TimeSpan.FromMilliseconds(100) };
        var store = new PackStore(counting, index);
        var all = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.GetAsync(1, default).AsTask()));
        Assert.Equal(1, counting.Reads("packs/"));
        Assert.All(all, a => Assert.Same(all[0], a));
        Assert.Equal(index.Packs[1].Stored, store.LoadedBytes);
    }

    /// <summary>Counts reads by path prefix; can delay each read like a slow link.</summary>
    private sealed class CountingBackend(IArchiveBackend inner) : IArchiveBackend
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<string> _reads = [];
        public TimeSpan Delay { get; init; }
        public int Reads(string prefix) => _reads.Count(p => p.StartsWith(prefix, StringComparison.Ordinal));
        public string Location => inner.Location;
        public bool IsWritable => false;

        public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
        {
            string path = handle.Path;
            _reads.Add(path);
            if (Delay > TimeSpan.Zero) await Task.Delay(Delay, ct);
            return await inner.TryReadAsync(handle, hints, ct);
        }

        public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException();
        public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
        public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException();
    }
}
