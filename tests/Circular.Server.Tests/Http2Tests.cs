using System.Net;
using System.Net.Http.Headers;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>Cleartext HTTP/2 with prior knowledge on the --listen-h2c endpoint.</summary>
public sealed class Http2Tests(ServedArchiveFixture fx) : IClassFixture<ServedArchiveFixture>
{
    /// <summary>A request that must go over HTTP/2 (a new HttpRequestMessage does not take the client's defaults).</summary>
    private static HttpRequestMessage H2Get(Uri url) =>
        new(HttpMethod.Get, url) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

    private static HttpClient H2Client() => new() {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public async Task Virtual_image_and_chunk_files_are_served_over_h2c()
    {
        using var client = H2Client();
        byte[] expected = fx.Served.Archive.Content("os", 1);
        using (var resp = await client.GetAsync(new Uri(fx.Served.H2cUrl!, "images/os/1.img")))
        {
            Assert.Equal(HttpVersion.Version20, resp.Version);
            Assert.Equal(expected, await resp.Content.ReadAsByteArrayAsync());
        }
        using var req = H2Get(new Uri(fx.Served.H2cUrl!, "images/os/1.img"));
        req.Headers.Range = new RangeHeaderValue(70000, 70099);
        using var ranged = await client.SendAsync(req);
        Assert.Equal(HttpVersion.Version20, ranged.Version);
        Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal(expected[70000..70100], await ranged.Content.ReadAsByteArrayAsync());

        string chunk = await fx.Served.Archive.ChunkPathAsync("os", 1, 0);
        using var c = await client.GetAsync(new Uri(fx.Served.H2cUrl!, chunk));
        Assert.Equal(HttpVersion.Version20, c.Version);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(fx.Served.Archive.Root, chunk)), await c.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Many_concurrent_range_requests_over_h2c_are_exact()
    {
        using var client = H2Client();
        byte[] expected = fx.Served.Archive.Content("os", 2);
        var rng = new Random(42);
        var ranges = Enumerable.Range(0, 40).Select(_ => { long a = rng.NextInt64(expected.Length - 1); return (a, Math.Min(expected.Length - 1, a + rng.Next(1, 200_000))); }).ToList();
        await Task.WhenAll(ranges.Select(async r =>
        {
            using var req = H2Get(new Uri(fx.Served.H2cUrl!, "images/os/2.img"));
            req.Headers.Range = new RangeHeaderValue(r.a, r.Item2);
            using var resp = await client.SendAsync(req);
            Assert.Equal(HttpVersion.Version20, resp.Version);
            Assert.Equal(expected[(int)r.a..(int)(r.Item2 + 1)], await resp.Content.ReadAsByteArrayAsync());
        }));
    }
}
