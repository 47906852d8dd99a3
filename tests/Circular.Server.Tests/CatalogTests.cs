using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>The live catalog of `serve`: its HTML pages and JSON API (docs/catalog.md).</summary>
public sealed partial class CatalogTests(CatalogArchiveFixture fx) : IClassFixture<CatalogArchiveFixture>
{
    private async Task<(HttpStatusCode Status, string Type, string Body)> GetAsync(string path)
    {
        using var resp = await fx.Client.GetAsync(fx.Url(path));
        return (resp.StatusCode, resp.Content.Headers.ContentType?.MediaType ?? "", await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Front_page_lists_every_image_with_its_facts_and_escapes_descriptions()
    {
        var (status, type, html) = await GetAsync("");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/html", type);
        foreach (var name in new[] { "os", "tools", "many", "broken" })
            Assert.Contains($"href=\"catalog/{name}/index.html\"", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt;", html);
        Assert.DoesNotContain("<script>alert(1)", html);
        Assert.DoesNotContain("<b>bold", html);
        // os: latest 2 of 2, tag stable, unsigned, not optimized.
        var osRow = Row(html, "os");
        Assert.Contains("2 <small>of 2</small>", osRow);
        Assert.Contains("stable", osRow);
        Assert.Contains("unsigned", osRow);
        Assert.Contains($"{CatalogArchiveFixture.ManyVersions} <small>of {CatalogArchiveFixture.ManyVersions}</small>", Row(html, "many"));
        // Corrupt refs are shown as such, with nothing else about the image.
        var broken = Row(html, "broken");
        Assert.Contains("Corrupt refs", broken);
        Assert.Contains("&quot;tags&quot; is missing or null", broken);
        Assert.Equal(html, (await GetAsync("index.html")).Body);
    }

    [Fact]
    public async Task Image_page_shows_versions_with_messages_tags_changes_and_ways_to_use_them()
    {
        var (status, _, html) = await GetAsync("catalog/os/index.html");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<h2 id=v2>Version 2 <span class=tag>latest</span></h2>", html);
        Assert.Contains("<h2 id=v1>Version 1 <span class=tag>stable</span></h2>", html);
        Assert.Contains("&lt;script&gt;alert(1)", html);
        Assert.DoesNotContain("<script>alert(1)", html);
        string url = fx.Served.Url.ToString().TrimEnd('/');
        Assert.Contains($"circular boot {url} os@2", html);
        Assert.Contains($"circular mount {url} /mnt/circular", html);
        Assert.Contains($"nbd://127.0.0.1:10809/os@1,format=raw", html);
        Assert.Contains("href=\"../../boot/os/2.ipxe\"", html);
        // The change against version 1 is what the manifests say.
        var m1 = await fx.Archive.ManifestAsync("os", 1);
        var m2 = await fx.Archive.ManifestAsync("os", 2);
        int changed = m2.Blocks.Where((b, i) => i >= m1.Blocks.Length || m1.Blocks[i] != b).Count();
        Assert.Contains($"{changed} blocks, ", html);
        Assert.Contains("differ from version 1", html);
        Assert.Contains("first version", html);
        // The virtual image link resolves to the version's bytes.
        var img = ImageLink().Match(html);
        Assert.True(img.Success, "no virtual image link");
        var bytes = await fx.Client.GetByteArrayAsync(new Uri(fx.Url("catalog/os/index.html"), img.Groups[1].Value));
        Assert.Equal(fx.Archive.Content("os", 2), bytes);
    }

    [Fact]
    public async Task Versions_are_paginated_newest_first_and_pages_past_the_end_are_404_with_a_way_back()
    {
        var (_, _, page1) = await GetAsync("catalog/many/index.html");
        Assert.Equal(50, VersionHeading().Matches(page1).Count);
        Assert.Contains("<h2 id=v120>", page1);
        Assert.Contains("<h2 id=v71>", page1);
        Assert.DoesNotContain("<h2 id=v70>", page1);
        Assert.Contains("href=\"../../catalog/many/page-2.html\">Older</a>", page1);
        var (status, _, page3) = await GetAsync("catalog/many/page-3.html");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(20, VersionHeading().Matches(page3).Count);
        Assert.Contains("<h2 id=v1>", page3);
        Assert.Contains("rel=prev href=\"../../catalog/many/page-2.html\"", page3);
        var (gone, type, page4) = await GetAsync("catalog/many/page-4.html");
        Assert.Equal(HttpStatusCode.NotFound, gone);
        Assert.Equal("text/html", type);
        Assert.Contains("href=\"../../index.html\">Back to all images", page4);
    }

    [Fact]
    public async Task Unknown_images_and_pages_answer_404_pages_that_link_back()
    {
        foreach (var path in new[] { "catalog/nope/index.html", "catalog/%3Cscript%3E/index.html", "catalog/os/page-x.html", "catalog/os/other/index.html",
            "catalog/", "catalog", "catalog/broken/page-2.html" })
        {
            var (status, type, html) = await GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("text/html", type);
            Assert.Contains("Back to all images", html);
            Assert.DoesNotContain("<script>alert", html);
        }
        foreach (var path in new[] { "api/", "api", "api/images/os/nothing", "api/images/broken/versions?page=2" })
        {
            var (status, type, _) = await GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("application/json", type);
        }
        var (apiStatus, apiType, body) = await GetAsync("api/images/nope");
        Assert.Equal(HttpStatusCode.NotFound, apiStatus);
        Assert.Equal("application/json", apiType);
        Assert.Contains("no image named 'nope'", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Broken_image_page_shows_the_problem_and_no_versions()
    {
        var (status, _, html) = await GetAsync("catalog/broken/index.html");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Corrupt refs", html);
        Assert.DoesNotContain("<h2 id=v", html);
        Assert.DoesNotContain("circular boot", html);
    }

    [Fact]
    public async Task Api_lists_images_and_pages_of_versions()
    {
        var (status, type, body) = await GetAsync("api/images");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", type);
        var images = JsonDocument.Parse(body).RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal(["broken", "many", "os", "tools"], images.Keys.Order(StringComparer.Ordinal));
        var os = images["os"];
        Assert.Equal("ok", os.GetProperty("status").GetString());
        Assert.Equal(CatalogArchiveFixture.Hostile, os.GetProperty("description").GetString());
        Assert.Equal(2, os.GetProperty("latest").GetInt32());
        Assert.Equal(1, os.GetProperty("tags").GetProperty("stable").GetInt32());
        Assert.Equal(fx.Archive.Content("os", 2).Length, os.GetProperty("size").GetInt64());
        Assert.Equal("corrupt", images["broken"].GetProperty("status").GetString());
        Assert.Equal(body, (await GetAsync("api/images.json")).Body);

        var detail = JsonDocument.Parse((await GetAsync("api/images/os")).Body).RootElement;
        var versions = detail.GetProperty("versions").GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([2, 1], versions.Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal("images/os/1.img", versions[1].GetProperty("links").GetProperty("image").GetString());
        Assert.Equal("boot/os/1.ipxe", versions[1].GetProperty("links").GetProperty("ipxe").GetString());
        Assert.Equal(1, versions[0].GetProperty("change").GetProperty("from").GetInt32());

        var page2 = JsonDocument.Parse((await GetAsync("api/images/many/versions?page=2")).Body).RootElement;
        Assert.Equal(2, page2.GetProperty("page").GetInt32());
        Assert.Equal(3, page2.GetProperty("pages").GetInt32());
        Assert.Equal(CatalogArchiveFixture.ManyVersions, page2.GetProperty("total").GetInt32());
        Assert.Equal(Enumerable.Range(21, 50).Reverse(), page2.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal((await GetAsync("api/images/many/versions-2.json")).Body, (await GetAsync("api/images/many/versions?page=2")).Body);
        Assert.Equal((await GetAsync("api/images/os")).Body, (await GetAsync("api/images/os/index.json")).Body);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("api/images/many/versions?page=4")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("api/images/many/versions?page=-1")).Status);
    }

    /// <summary>The table row of an image on the front page.</summary>
    private static string Row(string html, string name)
    {
        int start = html.IndexOf($"<a href=\"catalog/{name}/index.html\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no row for {name}");
        return html[start..html.IndexOf("</tr>", start, StringComparison.Ordinal)];
    }

    [GeneratedRegex("<h2 id=v\\d+>")]
    private static partial Regex VersionHeading();

    [GeneratedRegex("href=\"(\\.\\./\\.\\./images/os/2\\.img)\"")]
    private static partial Regex ImageLink();
}
