using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Imaging.Publishing;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Imaging.Tests;

public class ImageChunkerTests
{
    private const int Cs = 64 * 1024;

    private static byte[] Random(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>10.5 blocks; data in block 2, the second half of block 5 and the short last block; holes elsewhere.</summary>
    private static (byte[] Content, List<Extent> Data) SparseLayout()
    {
        int size = 10 * Cs + Cs / 2;
        var content = new byte[size];
        var data = new List<Extent> { new(2 * Cs, Cs, false), new(5 * Cs + Cs / 2, Cs / 2, false), new(10 * Cs, Cs / 2, false) };
        foreach (var e in data) Random((int)e.Length, (int)e.Offset).CopyTo(content, e.Offset);
        return (content, data);
    }

    [Fact]
    public async Task ChunkAsync_holeExtents_areNeverRead()
    {
        var (content, data) = SparseLayout();
        var image = new FakeImage(content, data);
        var chunker = new ImageChunker(new ChunkWriter(new MemoryBackend(), ChunkCodec.Zstd, 3), Cs);

        var result = await chunker.ChunkAsync(image, CancellationToken.None);

        Assert.Equal(3, image.Reads);
        Assert.Equal(11, result.Blocks.Length);
        Assert.Equal(8, result.ZeroBlocks);
        Assert.Equal([2, 5, 10], Enumerable.Range(0, 11).Where(i => !result.Blocks[i].IsZero));
        Assert.Equal(content.LongLength, chunker.Processed);
    }

    [Fact]
    public async Task ChunkAsync_extentsGivenOneAtATime_findsTheSameBlocks()
    {
        var (content, data) = SparseLayout();
        var whole = await new ImageChunker(new ChunkWriter(new MemoryBackend(), ChunkCodec.Zstd, 3), Cs)
            .ChunkAsync(new FakeImage(content, data), CancellationToken.None);
        var pieces = await new ImageChunker(new ChunkWriter(new MemoryBackend(), ChunkCodec.Zstd, 3), Cs)
            .ChunkAsync(new FakeImage(content, data) { MaxExtentsPerCall = 1 }, CancellationToken.None);
        Assert.Equal(whole.Blocks, pieces.Blocks);
    }

    [Fact]
    public async Task ChunkAsync_blockIds_areHashesOfBlockBytesIncludingShortLastBlock()
    {
        var (content, data) = SparseLayout();
        var result = await new ImageChunker(new ChunkWriter(new MemoryBackend(), ChunkCodec.Zstd, 3), Cs)
            .ChunkAsync(new FakeImage(content, data), CancellationToken.None);
        Assert.Equal(ChunkId.Compute(content.AsSpan(2 * Cs, Cs)), result.Blocks[2]);
        Assert.Equal(ChunkId.Compute(content.AsSpan(5 * Cs, Cs)), result.Blocks[5]);
        Assert.Equal(ChunkId.Compute(content.AsSpan(10 * Cs, Cs / 2)), result.Blocks[10]);
    }

    [Fact]
    public async Task ChunkAsync_dataExtentThatReadsAsZeros_isNotStored()
    {
        var content = new byte[4 * Cs];
        Random(Cs, 1).CopyTo(content, 0);
        var backend = new MemoryBackend();
        var writer = new ChunkWriter(backend, ChunkCodec.Zstd, 3);
        var result = await new ImageChunker(writer, Cs).ChunkAsync(new FakeImage(content, [new(0, content.Length, false)]), CancellationToken.None);
        Assert.Equal(3, result.ZeroBlocks);
        Assert.True(result.Blocks[1].IsZero && result.Blocks[2].IsZero && result.Blocks[3].IsZero);
        Assert.Equal(1, writer.NewChunks);
        Assert.Single(backend.Files);
    }

    [Fact]
    public async Task ChunkAsync_repeatedBlocks_areStoredOnce()
    {
        byte[] block = Random(Cs, 3);
        var content = new byte[6 * Cs];
        for (int i = 0; i < 6; i++) block.CopyTo(content, i * Cs);
        var backend = new MemoryBackend();
        var writer = new ChunkWriter(backend, ChunkCodec.Zlib, 6);
        var result = await new ImageChunker(writer, Cs).ChunkAsync(new FakeImage(content, [new(0, content.Length, false)]), CancellationToken.None);
        Assert.Single(result.Blocks.Distinct());
        Assert.Equal(1, writer.NewChunks);
        Assert.Equal(5, writer.Reused);
        Assert.Equal(1, backend.Writes);
    }

    [Theory]
    [InlineData(ChunkCodec.Zstd)]
    [InlineData(ChunkCodec.Zlib)]
    public async Task ChunkAsync_thenChunkedImage_readsTheSameBytes(ChunkCodec codec)
    {
        var (content, data) = SparseLayout();
        var backend = new MemoryBackend();
        var result = await new ImageChunker(new ChunkWriter(backend, codec, 3), Cs).ChunkAsync(new FakeImage(content, data), CancellationToken.None);
        var meta = new ManifestMetadata { Image = "t", Version = 1, Created = DateTimeOffset.UnixEpoch };
        var image = new ChunkedImage(new Manifest(meta, Cs, content.Length, result.Blocks), new BackendChunkSource(backend), "t@1");
        var back = new byte[content.Length];
        await image.ReadAsync(0, back, CancellationToken.None);
        Assert.Equal(content, back);
        var odd = new byte[3 * Cs + 17];
        await image.ReadAsync(Cs + 5, odd, CancellationToken.None);
        Assert.Equal(content.AsSpan(Cs + 5, odd.Length).ToArray(), odd);
    }

    [Fact]
    public async Task ChunkAsync_chunksAlreadyInArchive_areReusedNotRewritten()
    {
        var (content, data) = SparseLayout();
        var backend = new MemoryBackend();
        await new ImageChunker(new ChunkWriter(backend, ChunkCodec.Zstd, 3), Cs).ChunkAsync(new FakeImage(content, data), CancellationToken.None);
        int writes = backend.Writes;
        var again = new ChunkWriter(backend, ChunkCodec.Zstd, 3);
        await new ImageChunker(again, Cs).ChunkAsync(new FakeImage(content, data), CancellationToken.None);
        Assert.Equal(writes, backend.Writes);
        Assert.Equal(0, again.NewChunks);
        Assert.Equal(3, again.Reused);
        Assert.All(backend.Files.Keys, k => Assert.StartsWith("chunks/", k));
        Assert.Contains(ArchiveLayout.ChunkPath(ChunkId.Compute(content.AsSpan(2 * Cs, Cs))), backend.Files.Keys);
    }
}
