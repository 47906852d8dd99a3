using System.Net;
using System.Text.Json;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>The catalog page at / and the JSON list at /api/images.</summary>
public sealed class CatalogTests(ServedArchiveFixture fx) : IClassFixture<ServedArchiveFixture>
{
    [Fact]
    public async Task Api_lists_images_versions_tags_and_latest()
    {
        using var resp = await fx.Client.GetAsync(new Uri(fx.Served.Url, "api/images"));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("application/json", resp.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
        var images = doc.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal(["os", "tools"], images.Keys.Order());
        var os = images["os"];
        Assert.Equal(2, os.GetProperty("latest").GetInt32());
        Assert.Equal(1, os.GetProperty("tags").GetProperty("stable").GetInt32());
        var versions = os.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([2, 1], versions.Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal(fx.Served.Archive.Content("os", 1).Length, versions[1].GetProperty("size").GetInt64());
        Assert.Equal("/images/os/1.img", versions[1].GetProperty("url").GetString());
    }

    [Fact]
    public async Task Html_page_links_every_version()
    {
        using var resp = await fx.Client.GetAsync(fx.Served.Url);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("text/html", resp.Content.Headers.ContentType?.MediaType);
        string html = await resp.Content.ReadAsStringAsync();
        foreach (var link in new[] { "/images/os/1.img", "/images/os/2.img", "/images/tools/1.img" })
            Assert.Contains($"href=\"{link}\"", html);
        Assert.Contains("stable", html);
        Assert.Contains("<h2>tools</h2>", html);
    }
}
