using Circular.Core.Chunks;
using Circular.Storage.Writing;

namespace Circular.Storage.Tests;

public class ChunkWriterTests
{
    [Fact]
    public async Task PutAsync_newChunk_writesDecodableFileNamedByHash()
    {
        using var t = await TempArchive.CreateAsync();
        var writer = new ChunkWriter(t.Archive.Backend, ChunkCodec.Zlib, 6);
        byte[] block = new byte[TempArchive.Cs];
        Array.Fill(block, (byte)'q');
        var id = await writer.PutAsync(block, new byte[ChunkFile.MaxEncodedLength(block.Length)], CancellationToken.None);

        byte[] file = await File.ReadAllBytesAsync(t.ChunkFilePath(block));
        Assert.Equal((byte)ChunkCodec.Zlib, file[5]);
        var back = new byte[block.Length];
        ChunkFile.DecodeVerified(id, "test", file, back);
        Assert.Equal(block, back);
        Assert.Equal(1, writer.NewChunks);
        Assert.Equal(file.Length, writer.NewBytes);
    }

    [Fact]
    public async Task PutAsync_chunkAlreadyOnDisk_isCountedReusedAndNotRewritten()
    {
        using var t = await TempArchive.CreateAsync();
        byte[] block = TempArchive.Block(1);
        var scratch = new byte[ChunkFile.MaxEncodedLength(block.Length)];
        await new ChunkWriter(t.Archive.Backend, ChunkCodec.Zstd, 3).PutAsync(block, scratch, CancellationToken.None);
        var before = File.GetLastWriteTimeUtc(t.ChunkFilePath(block));
        File.SetLastWriteTimeUtc(t.ChunkFilePath(block), before.AddDays(-1));

        var second = new ChunkWriter(t.Archive.Backend, ChunkCodec.Zstd, 3);
        await second.PutAsync(block, scratch, CancellationToken.None);

        Assert.Equal(0, second.NewChunks);
        Assert.Equal(1, second.Reused);
        Assert.Equal(before.AddDays(-1), File.GetLastWriteTimeUtc(t.ChunkFilePath(block)));
    }

    [Fact]
    public async Task PutAsync_sameChunkTwiceConcurrently_writesOnce()
    {
        using var t = await TempArchive.CreateAsync();
        byte[] block = TempArchive.Block(2);
        var writer = new ChunkWriter(t.Archive.Backend, ChunkCodec.Zstd, 3);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            writer.PutAsync(block, new byte[ChunkFile.MaxEncodedLength(block.Length)], CancellationToken.None).AsTask()));
        Assert.Equal(1, writer.NewChunks);
        Assert.Equal(7, writer.Reused);
        Assert.Single(Directory.GetFiles(Path.Combine(t.Dir, "chunks"), "*", SearchOption.AllDirectories));
    }
}
