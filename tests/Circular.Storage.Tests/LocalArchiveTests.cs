using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Archive;

namespace Circular.Storage.Tests;

public class LocalArchiveTests
{
    [Fact]
    public async Task InitAsync_nonEmptyDirectory_throwsUsageAndWritesNothing()
    {
        using var scratch = new Scratch();
        string dir = scratch.Dir;
        await File.WriteAllTextAsync(Path.Combine(dir, "x"), "x");
        await Assert.ThrowsAsync<UsageException>(() => WritableArchive.InitAsync(dir, new ArchiveConfig(), CancellationToken.None));
        Assert.Single(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public async Task InitAsync_existingArchive_throwsUsage()
    {
        using var t = await TempArchive.CreateAsync();
        await Assert.ThrowsAsync<UsageException>(() => WritableArchive.InitAsync(t.Dir, new ArchiveConfig(), CancellationToken.None));
    }

    [Fact]
    public async Task OpenAsync_directoryWithoutConfig_throwsNotFound()
    {
        using var scratch = new Scratch();
        var e = await Assert.ThrowsAsync<NotFoundException>(() => WritableArchive.OpenAsync(scratch.Dir, CancellationToken.None));
        Assert.Contains("not a Circular archive", e.Message);
    }

    [Fact]
    public async Task OpenAsync_corruptConfig_throwsArchiveFormat()
    {
        using var t = await TempArchive.CreateAsync();
        await File.WriteAllTextAsync(Path.Combine(t.Dir, ArchiveLayout.ConfigPath), "{\"format\":\"other\"}");
        await Assert.ThrowsAsync<ArchiveFormatException>(() => WritableArchive.OpenAsync(t.Dir, CancellationToken.None));
    }

    [Fact]
    public async Task PublishAsync_twice_listsBothVersionsAndIndexesImageOnce()
    {
        using var t = await TempArchive.CreateAsync();
        Assert.Equal(1, await t.PushAsync("os", [TempArchive.Block(1), null]));
        Assert.Equal(2, await t.PushAsync("os", [TempArchive.Block(2), null], tag: "stable"));
        var refs = await t.Archive.Reader.GetRefsAsync("os", CancellationToken.None);
        Assert.Equal([1, 2], refs.Versions.Select(v => v.Version));
        Assert.Equal(2, refs.Latest);
        Assert.Equal(2, refs.Tags["stable"]);
        Assert.Equal(["os"], await t.Archive.Reader.ListImagesAsync(CancellationToken.None));
        var m1 = await t.Archive.Reader.GetManifestAsync("os", refs.Find(1)!, CancellationToken.None);
        Assert.True(m1.Blocks[1].IsZero);
        Assert.Empty(Directory.GetFiles(t.Dir, ".tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task GetManifestAsync_manifestReplacedBehindRefs_throwsArchiveFormat()
    {
        using var t = await TempArchive.CreateAsync();
        await t.PushAsync("os", [TempArchive.Block(1)]);
        await t.PushAsync("os", [TempArchive.Block(2)]);
        File.Copy(Path.Combine(t.Dir, ArchiveLayout.ManifestPath("os", 2)), Path.Combine(t.Dir, ArchiveLayout.ManifestPath("os", 1)), overwrite: true);
        var refs = await t.Archive.Reader.GetRefsAsync("os", CancellationToken.None);
        var e = await Assert.ThrowsAsync<ArchiveFormatException>(() => t.Archive.Reader.GetManifestAsync("os", refs.Find(1)!, CancellationToken.None));
        Assert.Contains("os@1", e.Message);
    }

    [Fact]
    public async Task UpdateRefsAsync_changeThrows_leavesRefsUnchanged()
    {
        using var t = await TempArchive.CreateAsync();
        await t.PushAsync("os", [TempArchive.Block(1)]);
        string refsPath = Path.Combine(t.Dir, ArchiveLayout.RefsPath("os"));
        byte[] before = await File.ReadAllBytesAsync(refsPath);
        await Assert.ThrowsAsync<NotFoundException>(() => t.Archive.UpdateRefsAsync("os", r =>
            r with { Latest = ArchiveReader.Resolve(r, ImageSpec.Parse("os@9")).Version }, CancellationToken.None));
        Assert.Equal(before, await File.ReadAllBytesAsync(refsPath));
    }
}
