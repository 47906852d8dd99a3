using System.Net;
using System.Net.Http.Headers;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>/images/NAME/SELECTOR.img: whole versions as byte-range files reconstructed from chunks.</summary>
public sealed class VirtualImageTests(ServedArchiveFixture fx) : IClassFixture<ServedArchiveFixture>
{
    private Uri Url(string path) => new(fx.Served.Url, path);

    [Theory]
    [InlineData("os/1.img", "os", 1)]
    [InlineData("os/2.img", "os", 2)]
    [InlineData("os/latest.img", "os", 2)]
    [InlineData("os/stable.img", "os", 1)]
    [InlineData("tools/1.img", "tools", 1)]
    public async Task Full_GET_is_byte_exact(string path, string image, int version)
    {
        byte[] expected = fx.Served.Archive.Content(image, version);
        using var resp = await fx.Client.GetAsync(Url("images/" + path));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(expected.Length, resp.Content.Headers.ContentLength);
        Assert.Contains("bytes", resp.Headers.AcceptRanges);
        Assert.NotNull(resp.Headers.ETag);
        byte[] got = await resp.Content.ReadAsByteArrayAsync();
        Assert.True(expected.AsSpan().SequenceEqual(got), $"{path} differs from what was pushed");
    }

    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(1L, 1L)]
    [InlineData(12345L, 99999L)]              // crosses a chunk boundary (64 KiB)
    [InlineData(65535L, 65536L)]              // the two bytes around the first boundary
    [InlineData(4L * 65536 - 3, 5L * 65536 + 7)] // into and out of a zero block
    [InlineData(3L * 65536 + 1, 8L * 65536 - 2)] // several chunks, including a repeated one
    public async Task Range_GET_at_odd_offsets_is_byte_exact(long from, long to)
    {
        byte[] expected = fx.Served.Archive.Content("os", 1);
        using var req = new HttpRequestMessage(HttpMethod.Get, Url("images/os/1.img"));
        req.Headers.Range = new RangeHeaderValue(from, to);
        using var resp = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.PartialContent, resp.StatusCode);
        var cr = resp.Content.Headers.ContentRange!;
        Assert.Equal((from, to, (long)expected.Length), (cr.From!.Value, cr.To!.Value, cr.Length!.Value));
        Assert.Equal(expected[(int)from..(int)(to + 1)], await resp.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Open_ended_and_suffix_ranges_reach_the_short_last_block()
    {
        byte[] expected = fx.Served.Archive.Content("os", 2);
        using (var req = new HttpRequestMessage(HttpMethod.Get, Url("images/os/2.img")))
        {
            req.Headers.Range = new RangeHeaderValue(expected.Length - 5000, null);
            using var resp = await fx.Client.SendAsync(req);
            Assert.Equal(HttpStatusCode.PartialContent, resp.StatusCode);
            Assert.Equal(expected[^5000..], await resp.Content.ReadAsByteArrayAsync());
        }
        using (var req = new HttpRequestMessage(HttpMethod.Get, Url("images/os/2.img")))
        {
            req.Headers.Range = new RangeHeaderValue(null, 777);
            using var resp = await fx.Client.SendAsync(req);
            Assert.Equal(HttpStatusCode.PartialContent, resp.StatusCode);
            Assert.Equal(expected[^777..], await resp.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task HEAD_gives_the_image_size_without_a_body()
    {
        using var resp = await fx.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("images/os/1.img")));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(fx.Served.Archive.Content("os", 1).Length, resp.Content.Headers.ContentLength);
        Assert.Contains("bytes", resp.Headers.AcceptRanges);
    }

    [Fact]
    public async Task Range_past_the_end_is_416_with_the_size()
    {
        long size = fx.Served.Archive.Content("os", 1).Length;
        using var req = new HttpRequestMessage(HttpMethod.Get, Url("images/os/1.img"));
        req.Headers.Range = new RangeHeaderValue(size, size + 100);
        using var resp = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, resp.StatusCode);
        Assert.Equal(size, resp.Content.Headers.ContentRange?.Length);
    }

    [Fact]
    public async Task If_None_Match_gives_304_and_latest_changes_its_ETag_with_the_version()
    {
        using var v1 = await fx.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("images/os/1.img")));
        using var latest = await fx.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("images/os/latest.img")));
        Assert.NotEqual(v1.Headers.ETag, latest.Headers.ETag);

        using var req = new HttpRequestMessage(HttpMethod.Get, Url("images/os/1.img"));
        req.Headers.IfNoneMatch.Add(v1.Headers.ETag!);
        using var resp = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.NotModified, resp.StatusCode);
        Assert.Empty(await resp.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task If_Range_with_a_stale_ETag_sends_the_whole_current_image()
    {
        byte[] expected = fx.Served.Archive.Content("os", 2);
        using var req = new HttpRequestMessage(HttpMethod.Get, Url("images/os/latest.img"));
        req.Headers.Range = new RangeHeaderValue(10, 20);
        req.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"stale\""));
        using var resp = await fx.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(expected, await resp.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Numbered_versions_are_immutable_and_selectors_short_lived()
    {
        using var v1 = await fx.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("images/os/1.img")));
        Assert.Contains(v1.Headers.CacheControl!.Extensions, e => e.Name == "immutable");
        using var latest = await fx.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("images/os/latest.img")));
        Assert.DoesNotContain(latest.Headers.CacheControl!.Extensions, e => e.Name == "immutable");
        Assert.InRange(latest.Headers.CacheControl.MaxAge!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(60));
    }

    [Theory]
    [InlineData("images/os/9.img")]
    [InlineData("images/os/nosuchtag.img")]
    [InlineData("images/nosuchimage/1.img")]
    public async Task Unknown_version_tag_or_image_is_404(string path)
    {
        using var resp = await fx.Client.GetAsync(Url(path));
        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
    }
}
