using Circular.Imaging.Catalog;
using Circular.Storage.Chunks;

namespace Circular.Imaging.Tests;

/// <summary>
/// The overlay rules of <see cref="ArchiveCatalog"/>: one overlay per image, created on the first write (never by
/// reading), kept on the version it was made on; the image's other versions stay readable, read-only.
/// </summary>
public sealed class ArchiveCatalogOverlayTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("circ-catalog-").FullName;
    private MemoryArchive _archive = null!;

    public async Task InitializeAsync() => _archive = await MemoryArchive.CreateAsync(("os", 2, 4));

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    private async Task<ArchiveCatalog> CatalogAsync() =>
        new(await _archive.ReaderAsync(), new BackendChunkSource(_archive.Backend), _root);

    private string OverlayState => Path.Combine(_root, "os", "overlay.json");

    [Fact]
    public async Task Reading_through_a_writable_open_creates_no_overlay()
    {
        await using var catalog = await CatalogAsync();
        await using (var image = await catalog.OpenAsync("os", writable: true, default))
        {
            Assert.True(image.IsWritable);
            await image.ReadAsync(0, new byte[4096], default);
        }
        Assert.False(File.Exists(OverlayState));
    }

    [Fact]
    public async Task The_first_write_ties_the_overlay_to_its_version_and_other_versions_open_read_only()
    {
        await using (var catalog = await CatalogAsync())
        {
            await using var latest = await catalog.OpenAsync("os", writable: true, default);
            await latest.WriteAsync(0, new byte[4096], default);
            Assert.True(File.Exists(OverlayState));
            await using var v1 = await catalog.OpenAsync("os@1", writable: true, default);
            Assert.False(v1.IsWritable);
            await using var v2 = await catalog.OpenAsync("os@2", writable: true, default);
            Assert.True(v2.IsWritable);
        }
        // A new catalog (a restart) finds the overlay on disk and keeps the same rule.
        await using var again = await CatalogAsync();
        await using var first = await again.OpenAsync("os@first", writable: true, default);
        Assert.False(first.IsWritable);
        await using var reopened = await again.OpenAsync("os@2", writable: true, default);
        Assert.True(reopened.IsWritable);
        var back = new byte[4096];
        await reopened.ReadAsync(0, back, default);
        Assert.Equal(new byte[4096], back);
    }

    [Fact]
    public async Task Read_only_opens_read_the_version_as_published_beside_an_overlay()
    {
        await using var catalog = await CatalogAsync();
        await using var writer = await catalog.OpenAsync("os", writable: true, default);
        await writer.WriteAsync(0, Enumerable.Repeat((byte)9, 4096).ToArray(), default);
        await using var published = await catalog.OpenAsync("os", writable: false, default);
        var back = new byte[4096];
        await published.ReadAsync(0, back, default);
        Assert.Equal(_archive.Content("os", 2)[..4096], back);
    }
}
