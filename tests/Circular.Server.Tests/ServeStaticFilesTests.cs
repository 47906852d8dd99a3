using System.Net;
using System.Net.Http.Headers;
using Circular.Core.Archive;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>`circular serve` as a static file server: cache headers, validators, ranges and hidden writer state.</summary>
public sealed class ServeStaticFilesTests(ServedArchiveFixture fx) : IClassFixture<ServedArchiveFixture>
{
    private Uri Url(string path) => new(fx.Served.Url, path);

    [Fact]
    public async Task ChunkFile_has_immutable_cache_headers_and_a_validator()
    {
        string chunk = await fx.Served.Archive.ChunkPathAsync("os", 1, 0);
        using var resp = await fx.Client.GetAsync(Url(chunk));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var cc = resp.Headers.CacheControl!;
        Assert.True(cc.Public);
        Assert.Equal(TimeSpan.FromDays(365), cc.MaxAge);
        Assert.Contains(cc.Extensions, e => e.Name == "immutable");
        Assert.True(resp.Headers.ETag is not null || resp.Content.Headers.LastModified is not null, "no ETag or Last-Modified");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(fx.Served.Archive.Root, chunk)), await resp.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Manifest_is_immutable_and_refs_short_lived()
    {
        using var manifest = await fx.Client.GetAsync(Url(ArchiveLayout.ManifestPath("os", 1)));
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Contains(manifest.Headers.CacheControl!.Extensions, e => e.Name == "immutable");

        foreach (var path in new[] { ArchiveLayout.RefsPath("os"), ArchiveLayout.ConfigPath, ArchiveLayout.ImageIndexPath })
        {
            using var resp = await fx.Client.GetAsync(Url(path));
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            var cc = resp.Headers.CacheControl!;
            Assert.NotNull(cc.MaxAge);
            Assert.InRange(cc.MaxAge!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(60));
            Assert.DoesNotContain(cc.Extensions, e => e.Name == "immutable");
        }
    }

    [Fact]
    public async Task Range_request_on_a_chunk_file_gives_206_with_the_exact_bytes()
    {
        string chunk = await fx.Served.Archive.ChunkPathAsync("os", 1, 0); // random data: stored, not compressed
        byte[] file = await File.ReadAllBytesAsync(Path.Combine(fx.Served.Archive.Root, chunk));
        using var req = new HttpRequestMessage(HttpMethod.Get, Url(chunk));
        req.Headers.Range = new RangeHeaderValue(7, 1000);
        using var resp = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.PartialContent, resp.StatusCode);
        Assert.Equal(file[7..1001], await resp.Content.ReadAsByteArrayAsync());
        Assert.Equal(file.Length, resp.Content.Headers.ContentRange!.Length);
    }

    [Fact]
    public async Task If_None_Match_on_a_chunk_gives_304()
    {
        string chunk = await fx.Served.Archive.ChunkPathAsync("os", 1, 0);
        using var first = await fx.Client.GetAsync(Url(chunk));
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        using var req = new HttpRequestMessage(HttpMethod.Get, Url(chunk));
        req.Headers.IfNoneMatch.Add(etag!);
        using var resp = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.NotModified, resp.StatusCode);
    }

    [Theory]
    [InlineData(".locks/chunks")]
    [InlineData(".locks/image-os")]
    [InlineData(".tmp/convert-1.raw")]
    [InlineData("chunks/.tmp-leftover")]
    [InlineData("images/os/.tmp-refs.json-1-2")]
    public async Task Writer_state_is_not_served(string path)
    {
        string full = Path.Combine(fx.Served.Archive.Root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (!File.Exists(full)) await File.WriteAllTextAsync(full, "secret writer state");
        using var resp = await fx.Client.GetAsync(Url(path));
        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
        using var encoded = await fx.Client.GetAsync(Url(path.Replace(".", "%2E")));
        Assert.Equal(HttpStatusCode.NotFound, encoded.StatusCode);
    }

    [Fact]
    public async Task Chunk_fast_path_gives_the_static_file_middlewares_headers_and_bytes()
    {
        string chunk = await fx.Served.Archive.ChunkPathAsync("os", 1, 0);
        byte[] file = await File.ReadAllBytesAsync(Path.Combine(fx.Served.Archive.Root, chunk));
        using var fast = await fx.Client.GetAsync(Url(chunk)); // plain GET: ChunkFileResponder
        // A condition that holds sends the same request through the static-file middleware instead.
        using var req = new HttpRequestMessage(HttpMethod.Get, Url(chunk));
        req.Headers.IfModifiedSince = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var slow = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, fast.StatusCode);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.Equal(file, await fast.Content.ReadAsByteArrayAsync());
        Assert.Equal(file, await slow.Content.ReadAsByteArrayAsync());
        Assert.Equal(slow.Headers.ETag, fast.Headers.ETag);
        Assert.Equal(slow.Content.Headers.LastModified, fast.Content.Headers.LastModified);
        Assert.Equal(slow.Content.Headers.ContentType, fast.Content.Headers.ContentType);
        Assert.Equal(slow.Content.Headers.ContentLength, fast.Content.Headers.ContentLength);
        Assert.Equal(slow.Headers.AcceptRanges, fast.Headers.AcceptRanges);
        Assert.Equal(slow.Headers.CacheControl, fast.Headers.CacheControl);

        using var head = await fx.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url(chunk)));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(file.Length, head.Content.Headers.ContentLength);
        Assert.Equal(fast.Headers.ETag, head.Headers.ETag);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("/chunks/ab/ab00000000000000000000000000000000000000000000000000000000000000", true)]
    [InlineData("/chunks/ac/ab00000000000000000000000000000000000000000000000000000000000000", false)] // wrong directory
    [InlineData("/chunks/AB/AB00000000000000000000000000000000000000000000000000000000000000", false)] // not lowercase
    [InlineData("/chunks/ab/ab0000000000000000000000000000000000000000000000000000000000000", false)]  // 63 digits
    [InlineData("/chunks/ab/ab0000000000000000000000000000000000000000000000000000000000000g", false)]
    [InlineData("/chunks/ab/../../../../../../../../../../../../../../../../../../../etc/passwd", false)]
    [InlineData("/packs/ab/ab00000000000000000000000000000000000000000000000000000000000000", false)]
    public void Only_exact_chunk_paths_take_the_fast_path(string path, bool expected) =>
        Assert.Equal(expected, Core.Archive.ObjectHandle.FromPath(path) is { Kind: Core.Archive.ObjectKind.Chunk });

    [Fact]
    public async Task Missing_chunk_is_404()
    {
        using var resp = await fx.Client.GetAsync(Url("chunks/00/" + new string('0', 64)));
        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
    }
}
