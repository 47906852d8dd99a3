using Circular.Core.Errors;
using Circular.Imaging.Images;
using Circular.Imaging.Overlay;

namespace Circular.Imaging.Tests;

/// <summary>Copy-on-write over a version: what reads back, what survives a reopen, what the extents say.</summary>
public sealed class OverlayImageTests : IAsyncLifetime
{
    private const int Block = OverlayImage.BlockSize;
    private readonly string _dir = Directory.CreateTempSubdirectory("circ-overlay-").FullName;
    private MemoryArchive _archive = null!;
    private ChunkedImage _base = null!;
    private string _digest = "";

    public async Task InitializeAsync()
    {
        _archive = await MemoryArchive.CreateAsync(("os", 2, 5));
        _base = await _archive.ImageAsync("os@1");
        var reader = await _archive.ReaderAsync();
        _digest = (await reader.OpenVersionAsync(Core.Archive.ImageSpec.Parse("os@1"), default)).Entry.ManifestDigest;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private Task<OverlayImage> OpenAsync(string? dir = null, bool snapshotIfBusy = false) =>
        OverlayImage.OpenAsync(dir ?? Path.Combine(_dir, "ov"), _base, _digest, default, snapshotIfBusy);

    private static async Task<byte[]> ReadAsync(IBlockImage image, long offset, int length)
    {
        var b = new byte[length];
        await image.ReadAsync(offset, b, default);
        return b;
    }

    [Fact]
    public async Task Unwritten_blocks_read_the_base_and_written_ones_the_overlay()
    {
        await using var o = await OpenAsync();
        byte[] expected = _archive.Content("os", 1).ToArray();
        byte[] data = Enumerable.Range(0, 3 * Block).Select(i => (byte)i).ToArray();
        await o.WriteAsync(5 * Block, data, default);
        data.CopyTo(expected, 5 * Block);
        Assert.Equal(expected, await ReadAsync(o, 0, (int)o.Size));
        Assert.True(o.IsWritten(5 * Block, 1));
        Assert.False(o.IsWritten(4 * Block, Block));
        Assert.True(o.HasChanges);
    }

    [Fact]
    public async Task A_map_and_data_left_without_overlay_json_are_cleared_not_read_as_writes()
    {
        // What a commit killed while deleting the overlay leaves (it deletes overlay.json first).
        await using (var o = await OpenAsync())
        {
            await o.WriteAsync(2 * Block, Enumerable.Repeat((byte)0x5A, 4 * Block).ToArray(), default);
            await o.FlushAsync(default);
        }
        File.Delete(Path.Combine(_dir, "ov", "overlay.json"));
        await using var fresh = await OpenAsync();
        Assert.False(fresh.HasChanges);
        Assert.Equal(_archive.Content("os", 1).ToArray(), await ReadAsync(fresh, 0, (int)fresh.Size));
    }

    [Fact]
    public async Task A_write_inside_a_block_keeps_the_rest_of_that_block_from_the_base()
    {
        await using var o = await OpenAsync();
        byte[] expected = _archive.Content("os", 1).ToArray();
        await o.WriteAsync(3 * Block + 100, new byte[] { 1, 2, 3 }, default);
        await o.WriteAsync(7 * Block - 2, new byte[] { 9, 9, 9, 9 }, default); // across a block boundary
        new byte[] { 1, 2, 3 }.CopyTo(expected, 3 * Block + 100);
        new byte[] { 9, 9, 9, 9 }.CopyTo(expected, 7 * Block - 2);
        Assert.Equal(expected, await ReadAsync(o, 0, (int)o.Size));
    }

    [Fact]
    public async Task Flushed_writes_survive_a_reopen()
    {
        byte[] data = Enumerable.Repeat((byte)0x42, 2 * Block).ToArray();
        await using (var o = await OpenAsync())
        {
            await o.WriteAsync(Block, data, default);
            await o.FlushAsync(default);
        }
        await using var again = await OpenAsync();
        Assert.Equal(data, await ReadAsync(again, Block, 2 * Block));
        Assert.Equal(_archive.Content("os", 1)[..Block], await ReadAsync(again, 0, Block));
    }

    [Fact]
    public async Task Zeroing_reads_as_zeros_and_the_extents_report_written_blocks_as_data()
    {
        await using var o = await OpenAsync();
        await o.WriteZeroesAsync(2 * Block, 3 * Block, default);
        Assert.Equal(new byte[3 * Block], await ReadAsync(o, 2 * Block, 3 * Block));
        var extents = await o.GetExtentsAsync(2 * Block, 3 * Block, default);
        Assert.Equal(new Extent(2 * Block, 3 * Block, false), extents[0]);
        // The base's second chunk is all zeros: outside written blocks the base's map shows through.
        var hole = await o.GetExtentsAsync(MemoryArchive.ChunkSize, Block, default);
        Assert.True(hole[0].IsZero);
    }

    [Fact]
    public async Task An_overlay_of_another_version_is_refused()
    {
        await using (var o = await OpenAsync()) await o.WriteAsync(0, new byte[Block], default);
        var v2 = await _archive.ImageAsync("os@2");
        var e = await Assert.ThrowsAsync<CircularException>(() => OverlayImage.OpenAsync(Path.Combine(_dir, "ov"), v2, (_digest[0] == '0' ? "1" : "0") + _digest[1..], default));
        Assert.Contains("holds changes to os@1", e.Message);
    }

    [Fact]
    public async Task A_second_opener_is_refused_or_gets_a_read_only_snapshot_of_what_was_flushed()
    {
        await using var owner = await OpenAsync();
        byte[] flushed = Enumerable.Repeat((byte)1, Block).ToArray();
        await owner.WriteAsync(0, flushed, default);
        await owner.FlushAsync(default);
        await owner.WriteAsync(Block, Enumerable.Repeat((byte)2, Block).ToArray(), default); // not flushed

        var busy = await Assert.ThrowsAsync<CircularException>(() => OpenAsync());
        Assert.Contains("in use", busy.Message);
        await using var snapshot = await OpenAsync(snapshotIfBusy: true);
        Assert.True(snapshot.IsSnapshot);
        Assert.False(snapshot.IsWritable);
        Assert.Equal(flushed, await ReadAsync(snapshot, 0, Block));
        Assert.Equal(_archive.Content("os", 1)[Block..(2 * Block)], await ReadAsync(snapshot, Block, Block));
        await Assert.ThrowsAsync<ReadOnlyImageException>(async () => await snapshot.WriteAsync(0, new byte[Block], default));
    }
}
