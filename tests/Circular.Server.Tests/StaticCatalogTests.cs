using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Circular.Server.Catalog;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>The static catalog `circular catalog` writes, served by plain nginx.</summary>
public sealed partial class StaticCatalogTests : IAsyncLifetime
{
    private TestArchive _a = null!;
    private NginxServer _nginx = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        _a = await TestArchive.CreateStandardAsync();
        for (int v = 1; v <= 60; v++) await _a.PushAsync("many", BitConverter.GetBytes(v).Concat(new byte[_a.ChunkSize]).ToArray());
        _nginx = await NginxServer.StartAsync(_a.Root);
    }

    public Task DisposeAsync()
    {
        _http.Dispose();
        _nginx.Dispose();
        _a.Dispose();
        return Task.CompletedTask;
    }

    private Task<StaticCatalogResult> WriteAsync(string? url = null) =>
        StaticCatalog.WriteAsync(_a.Root, new CatalogReader(_a.Archive.Reader), new StaticCatalogSettings { Url = url }, CancellationToken.None);

    [Fact]
    public async Task Nginx_serves_the_pages_and_json_and_every_link_resolves()
    {
        var result = await WriteAsync("https://mirror.example/archive");
        Assert.Equal(3, result.Images);
        string index = await _http.GetStringAsync(new Uri(_nginx.Url, "index.html"));
        Assert.Equal(index, await _http.GetStringAsync(_nginx.Url)); // nginx's index file is the catalog
        Assert.Contains("https://mirror.example/archive", index);
        // Follow every relative link of the front page and of each image's first page: each one answers 200.
        var pages = new List<Uri> { new(_nginx.Url, "index.html") };
        foreach (var name in new[] { "os", "tools", "many" }) pages.Add(new Uri(_nginx.Url, $"catalog/{name}/index.html"));
        pages.Add(new Uri(_nginx.Url, "catalog/many/page-2.html"));
        foreach (var page in pages)
        {
            string html = await _http.GetStringAsync(page);
            foreach (Match m in Href().Matches(html))
            {
                string href = WebUtility.HtmlDecode(m.Groups[1].Value);
                if (href.StartsWith('#') || href.EndsWith(".ipxe", StringComparison.Ordinal)) continue; // iPXE scripts are `circular netboot`'s
                if (href.EndsWith(".img", StringComparison.Ordinal)) continue; // virtual images are `serve`'s (nginx serves the archive's files)
                using var resp = await _http.GetAsync(new Uri(page, href));
                Assert.True(resp.StatusCode == HttpStatusCode.OK, $"{href} on {page} answered {(int)resp.StatusCode}");
            }
        }
        string os = await _http.GetStringAsync(new Uri(_nginx.Url, "catalog/os/index.html"));
        Assert.Contains("circular boot https://mirror.example/archive os@2", os);
        var json = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_nginx.Url, CatalogPaths.ImagesJson))).RootElement;
        Assert.Equal(["many", "os", "tools"], json.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Image_names_with_dots_never_collide_with_each_other_or_the_settings()
    {
        await _a.PushAsync("os.json", _a.Content("os", 1));
        await _a.PushAsync("catalog.json", _a.Content("os", 1));
        await WriteAsync();
        foreach (var name in new[] { "os", "os.json", "catalog.json" })
        {
            Assert.True(File.Exists(Path.Combine(_a.Root, CatalogPaths.ImageJson(name))), name);
            Assert.True(File.Exists(Path.Combine(_a.Root, CatalogPaths.ImagePage(name))), name);
        }
        Assert.NotNull(StaticCatalog.ReadSettings(_a.Root));
    }

    [Fact]
    public async Task Without_a_url_the_commands_name_a_placeholder_the_page_fills_in()
    {
        await WriteAsync();
        string os = await File.ReadAllTextAsync(Path.Combine(_a.Root, CatalogPaths.ImagePage("os")));
        Assert.Contains($"circular boot <span class=archive-url>{CatalogSite.UrlPlaceholder}</span> os@2", os);
        Assert.Contains("new URL('../../',location.href)", os);
    }

    [Fact]
    public async Task Rewrites_touch_only_what_changed_and_remove_pages_no_longer_produced()
    {
        var first = await WriteAsync();
        Assert.True(first.Written > 5);
        var again = await WriteAsync();
        Assert.Equal(0, again.Written);
        // A new version of os changes its pages, its JSON and the front page; nothing of tools or many.
        await _a.PushAsync("os", _a.Content("os", 1));
        string toolsPage = Path.Combine(_a.Root, CatalogPaths.ImagePage("tools"));
        var toolsBefore = File.GetLastWriteTimeUtc(toolsPage);
        var afterPush = await WriteAsync();
        Assert.InRange(afterPush.Written, 3, 6);
        Assert.Equal(toolsBefore, File.GetLastWriteTimeUtc(toolsPage));
        Assert.Contains("<h2 id=v3>", await File.ReadAllTextAsync(Path.Combine(_a.Root, CatalogPaths.ImagePage("os"))));
        // Forgetting versions (as gc --keep-last does) leaves one page of many: page 2 goes.
        Assert.True(File.Exists(Path.Combine(_a.Root, CatalogPaths.ImagePage("many", 2))));
        await _a.Archive.UpdateRefsAsync("many", r => r with { Versions = r.Versions.Where(v => v.Version > 20).ToList() }, CancellationToken.None);
        var afterGc = await WriteAsync();
        Assert.True(afterGc.Removed >= 2); // the HTML page and its JSON
        Assert.False(File.Exists(Path.Combine(_a.Root, CatalogPaths.ImagePage("many", 2))));
        Assert.False(File.Exists(Path.Combine(_a.Root, CatalogPaths.VersionsJson("many", 2))));
    }

    [GeneratedRegex("href=\"([^\"]+)\"")]
    private static partial Regex Href();
}
