using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;
using Xunit;

namespace Circular.Testing;

/// <summary>
/// The contract of <see cref="IImageCatalog"/> (written on the interface), as one suite every implementation runs: derive,
/// say how to make the catalog and what its first export holds, and xunit runs each fact for that implementation
/// (nbdkit tests its filters the same way, one suite for all).
/// </summary>
public abstract class ImageCatalogContract
{
    /// <summary>A catalog with at least one export, whether it keeps writes, and the bytes each export name reads.</summary>
    protected abstract Task<CatalogUnderTest> CreateAsync();

    public sealed record CatalogUnderTest(IImageCatalog Catalog, bool KeepsWrites, Func<string, byte[]> Content) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (Catalog is IAsyncDisposable d) await d.DisposeAsync();
        }
    }

    private static async Task<byte[]> ReadAllAsync(IBlockImage image)
    {
        var buf = new byte[image.Size];
        await image.ReadAsync(0, buf, default);
        return buf;
    }

    [Fact]
    public async Task List_names_each_export_once_with_the_size_an_open_has()
    {
        await using var c = await CreateAsync();
        var entries = await c.Catalog.ListAsync(default);
        Assert.NotEmpty(entries);
        Assert.Equal(entries.Count, entries.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var e in entries)
        {
            await using var image = await c.Catalog.OpenAsync(e.Name, writable: false, default);
            Assert.Equal(e.Size, image.Size);
            Assert.Equal(c.Content(e.Name), await ReadAllAsync(image));
        }
    }

    [Fact]
    public async Task An_unknown_name_is_not_found()
    {
        await using var c = await CreateAsync();
        foreach (var name in new[] { "no-such-image", "no-such-image@1", "../etc", "x@no-such-tag" })
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(async () => await c.Catalog.OpenAsync(name, writable: false, default));
            Assert.Equal(ErrorKind.NotFound, Failures.Classify(e));
        }
    }

    [Fact]
    public async Task A_read_only_open_refuses_writes()
    {
        await using var c = await CreateAsync();
        string name = (await c.Catalog.ListAsync(default))[0].Name;
        await using var image = await c.Catalog.OpenAsync(name, writable: false, default);
        Assert.False(image.IsWritable);
        var e = await Assert.ThrowsAnyAsync<Exception>(async () => await image.WriteAsync(0, new byte[4096], default));
        Assert.Equal(ErrorKind.ReadOnly, Failures.Classify(e));
        Assert.Equal(c.Content(name), await ReadAllAsync(image));
    }

    [Fact]
    public async Task A_writable_open_is_writable_exactly_when_the_catalog_keeps_writes_and_never_throws_for_it()
    {
        await using var c = await CreateAsync();
        string name = (await c.Catalog.ListAsync(default))[0].Name;
        await using var image = await c.Catalog.OpenAsync(name, writable: true, default);
        Assert.Equal(c.KeepsWrites, image.IsWritable);
        byte[] marker = Enumerable.Repeat((byte)0x5a, 4096).ToArray();
        if (image.IsWritable)
        {
            await image.WriteAsync(8192, marker, default);
            var back = new byte[4096];
            await image.ReadAsync(8192, back, default);
            Assert.Equal(marker, back);
        }
        else
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(async () => await image.WriteAsync(8192, marker, default));
            Assert.Equal(ErrorKind.ReadOnly, Failures.Classify(e));
            Assert.Equal(c.Content(name), await ReadAllAsync(image));
        }
    }

    [Fact]
    public async Task Writable_leases_of_one_export_read_the_same_bytes_and_see_each_others_writes()
    {
        await using var c = await CreateAsync();
        string name = (await c.Catalog.ListAsync(default))[0].Name;
        await using var a = await c.Catalog.OpenAsync(name, writable: true, default);
        await using var b = await c.Catalog.OpenAsync(name, writable: true, default);
        Assert.Equal(await ReadAllAsync(a), await ReadAllAsync(b));
        if (!a.IsWritable) return;
        byte[] marker = Enumerable.Repeat((byte)0xa5, 4096).ToArray();
        await a.WriteAsync(4096, marker, default);
        await a.FlushAsync(default);
        var back = new byte[4096];
        await b.ReadAsync(4096, back, default);
        Assert.Equal(marker, back);
        await using var later = await c.Catalog.OpenAsync(name, writable: true, default);
        await later.ReadAsync(4096, back, default);
        Assert.Equal(marker, back);
    }

    [Fact]
    public async Task Disposing_a_lease_leaves_the_others_working_and_twice_is_harmless()
    {
        await using var c = await CreateAsync();
        string name = (await c.Catalog.ListAsync(default))[0].Name;
        var first = await c.Catalog.OpenAsync(name, writable: true, default);
        await using var second = await c.Catalog.OpenAsync(name, writable: true, default);
        if (first.IsWritable) await first.WriteAsync(0, Enumerable.Repeat((byte)7, 4096).ToArray(), default);
        byte[] expected = await ReadAllAsync(first);
        await first.DisposeAsync();
        await first.DisposeAsync();
        Assert.Equal(expected, await ReadAllAsync(second));
        await using var third = await c.Catalog.OpenAsync(name, writable: true, default);
        Assert.Equal(expected, await ReadAllAsync(third));
    }
}
