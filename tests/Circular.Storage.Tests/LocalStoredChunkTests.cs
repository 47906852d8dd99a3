using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Chunks;

namespace Circular.Storage.Tests;

/// <summary>Stored (incompressible) chunks of a local archive are read straight into the caller's buffer, still verified.</summary>
public class LocalStoredChunkTests
{
    [Fact]
    public async Task A_stored_chunk_reads_back_and_a_damaged_one_fails_naming_it()
    {
        using var a = await TempArchive.CreateAsync();
        byte[] good = TempArchive.Block(7), bad = TempArchive.Block(8), cut = TempArchive.Block(9);
        await a.PushAsync("os", [good, bad, cut]);
        Assert.Equal((byte)ChunkCodec.None, File.ReadAllBytes(a.ChunkFilePath(good))[5]); // random data is stored as is

        var source = new BackendChunkSource(a.Archive.Backend);
        var dest = new byte[TempArchive.Cs];
        Assert.Equal(TempArchive.Cs, await source.ReadAsync(ChunkId.Compute(good), dest, CancellationToken.None));
        Assert.Equal(good, dest);

        // One flipped payload byte: never returned.
        string badPath = a.ChunkFilePath(bad);
        var bytes = File.ReadAllBytes(badPath);
        bytes[ChunkFile.HeaderSize + 1000] ^= 0xFF;
        File.WriteAllBytes(badPath, bytes);
        var e = await Assert.ThrowsAsync<ChunkIntegrityException>(async () => await source.ReadAsync(ChunkId.Compute(bad), dest, CancellationToken.None));
        Assert.Contains(ChunkId.Compute(bad).ToHex(), e.Message, StringComparison.Ordinal);

        // A truncated file: its length no longer matches the header's.
        string cutPath = a.ChunkFilePath(cut);
        File.WriteAllBytes(cutPath, File.ReadAllBytes(cutPath)[..^100]);
        await Assert.ThrowsAsync<ChunkIntegrityException>(async () => await source.ReadAsync(ChunkId.Compute(cut), dest, CancellationToken.None));
        Assert.Equal(2, source.CorruptCopies);
    }

    [Fact]
    public async Task A_stored_chunk_changed_after_its_first_read_is_hashed_again()
    {
        using var a = await TempArchive.CreateAsync();
        byte[] block = TempArchive.Block(11);
        await a.PushAsync("os", [block]);
        var source = new BackendChunkSource(a.Archive.Backend);
        var dest = new byte[TempArchive.Cs];
        await source.ReadAsync(ChunkId.Compute(block), dest, CancellationToken.None);

        string path = a.ChunkFilePath(block);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1)); // a rewrite changes the stamp the skip relies on
        await Assert.ThrowsAsync<ChunkIntegrityException>(async () => await source.ReadAsync(ChunkId.Compute(block), dest, CancellationToken.None));
    }

    [Fact]
    public async Task A_range_of_a_verified_stored_chunk_is_read_alone_and_never_before_the_chunk_was_verified()
    {
        using var a = await TempArchive.CreateAsync();
        byte[] block = TempArchive.Block(21);
        await a.PushAsync("os", [block]);
        var id = ChunkId.Compute(block);
        var source = new BackendChunkSource(a.Archive.Backend);
        var part = new byte[4096];

        // Not yet hashed by this process: the caller must read (and so verify) the whole chunk first.
        Assert.False(await source.TryReadRangeAsync(id, 8192, part, CancellationToken.None));
        await source.ReadAsync(id, new byte[TempArchive.Cs], CancellationToken.None);

        Assert.True(await source.TryReadRangeAsync(id, 8192, part, CancellationToken.None));
        Assert.Equal(block.AsSpan(8192, 4096).ToArray(), part);
        Assert.True(await source.TryReadRangeAsync(id, TempArchive.Cs - 4096, part, CancellationToken.None));
        Assert.Equal(block.AsSpan(TempArchive.Cs - 4096).ToArray(), part);
        Assert.False(await source.TryReadRangeAsync(id, TempArchive.Cs - 100, part, CancellationToken.None)); // past the end

        // Changed on disk after the check: no range read; the whole read hashes it again and refuses it.
        string path = a.ChunkFilePath(block);
        var bytes = File.ReadAllBytes(path);
        bytes[ChunkFile.HeaderSize + 8192] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.False(await source.TryReadRangeAsync(id, 8192, part, CancellationToken.None));
        await Assert.ThrowsAsync<ChunkIntegrityException>(async () => await source.ReadAsync(id, new byte[TempArchive.Cs], CancellationToken.None));

        // Gone: no range read either (the whole read says it is missing).
        File.Delete(path);
        Assert.False(await source.TryReadRangeAsync(id, 0, part, CancellationToken.None));
    }

    [Fact]
    public async Task A_compressed_chunk_is_never_read_by_range()
    {
        using var a = await TempArchive.CreateAsync();
        byte[] block = new byte[TempArchive.Cs];
        for (int i = 0; i < block.Length; i++) block[i] = (byte)(i / 512); // compresses well
        await a.PushAsync("os", [block]);
        Assert.NotEqual((byte)ChunkCodec.None, File.ReadAllBytes(a.ChunkFilePath(block))[5]);
        var source = new BackendChunkSource(a.Archive.Backend);
        var id = ChunkId.Compute(block);
        await source.ReadAsync(id, new byte[TempArchive.Cs], CancellationToken.None);
        Assert.False(await source.TryReadRangeAsync(id, 0, new byte[4096], CancellationToken.None));
    }
}
