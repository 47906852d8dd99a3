using System.Net;
using System.Text.RegularExpressions;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// An archive with one bootable image (a kernel stored with it), published the way a user does it: push, describe
/// with markup in the description, `circular catalog`, `circular netboot --iso`.
/// </summary>
public sealed class CatalogBrowserFixture : IAsyncLifetime
{
    public const string Description = "<script>alert(1)</script> tiny busybox";
    public Scratch Scratch { get; } = new();
    public string Archive => Scratch["archive"];
    public string Kernel { get; } = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault()
        ?? throw new Xunit.Sdk.XunitException("no kernel in /boot: apt-get install linux-image-amd64");

    public async Task InitializeAsync()
    {
        Tools.Require("chromium", "nginx");
        await Scratch.InitArchiveAsync("archive");
        string img = RandomData.WriteFile(Scratch["v1.img"], 3_000_000, 11);
        await PushOutput.PushAsync(Archive, "zoo-os", img, "--kernel", Kernel, "-m", "first");
        using (var f = File.OpenWrite(img)) { f.Position = 1_000_000; f.Write(RandomData.Bytes(50_000, 12)); }
        await PushOutput.PushAsync(Archive, "zoo-os", img, "--kernel", Kernel, "-m", "second");
        (await CircularCli.RunAsync("describe", Archive, "zoo-os", Description)).Ok();
    }

    public Task DisposeAsync()
    {
        Scratch.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The catalog in a real browser (headless Chromium): from `serve`, and as static files from nginx.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class CatalogBrowserTests(CatalogBrowserFixture fx) : IClassFixture<CatalogBrowserFixture>
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromMinutes(3) };

    [Fact]
    public async Task Serve_shows_images_and_versions_and_its_links_give_scripts_isos_and_seed_disks()
    {
        int port = Ports.Free();
        await using var serve = await CircularCli.StartAsync("serving", "serve", fx.Archive, "--listen", $"127.0.0.1:{port}");
        var root = new Uri($"http://127.0.0.1:{port}/");

        string index = await Chromium.DumpDomAsync(root);
        await Chromium.ScreenshotAsync(root, "catalog-serve-index", 1280, 700);
        AssertEscaped(index);
        var page = new Uri(root, FirstImageLink(index));
        string dom = await Chromium.DumpDomAsync(page);
        await Chromium.ScreenshotAsync(page, "catalog-serve-image");
        await Chromium.ScreenshotAsync(page, "catalog-serve-image-phone", 390, 1600);
        AssertEscaped(dom);
        Assert.Contains("second", dom);
        Assert.Contains("first", dom);
        Assert.Contains($"circular boot http://127.0.0.1:{port} zoo-os@2", dom);

        // Every download the page offers resolves to the real thing.
        string script = await s_http.GetStringAsync(new Uri(page, Link(dom, "boot/zoo-os/2.ipxe")));
        Assert.StartsWith("#!ipxe", script);
        Assert.Contains($"circular.url=http://127.0.0.1:{port}", script);
        byte[] iso = await s_http.GetByteArrayAsync(new Uri(page, Link(dom, "boot/zoo-os/2.iso")));
        Assert.Equal("CD001"u8.ToArray(), iso.AsSpan(0x8001, 5).ToArray());
        string qcow2 = fx.Scratch["seed.qcow2"];
        await File.WriteAllBytesAsync(qcow2, await s_http.GetByteArrayAsync(new Uri(page, Link(dom, "boot/zoo-os/2-seed.qcow2"))));
        var info = (await Tools.TryAsync("qemu-img", "info", qcow2)).Ok().Out;
        Assert.Contains("file format: qcow2", info);
        Assert.Contains("virtual size: 16 GiB", info);
        var seedInfo = (await CircularCli.RunAsync("seed", qcow2, "--info")).Ok().Out;
        Assert.Contains($"zoo-os@2 from http://127.0.0.1:{port}", seedInfo);

        using var missing = await s_http.GetAsync(new Uri(root, "catalog/nope/index.html"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("Back to all images", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Nginx_serves_the_static_catalog_with_working_links_and_commands_filled_in_by_the_page()
    {
        // A copy, so this test's boot files and catalog do not show in the other's archive.
        string archive = fx.Scratch["static-archive"];
        (await Tools.TryAsync("cp", "-a", fx.Archive, archive)).Ok();
        using var nginx = await NginxServer.StartAsync(archive);
        (await CircularCli.RunAsync("catalog", archive)).Ok();
        Assert.True(File.Exists(Path.Combine(archive, "index.html")));
        // netboot writes the scripts and ISOs; the catalog is refreshed by it and links them.
        (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "netboot", archive, "zoo-os", "--url", nginx.Url.ToString(), "--iso")).Ok();

        string index = await Chromium.DumpDomAsync(nginx.Url);
        await Chromium.ScreenshotAsync(nginx.Url, "catalog-static-index", 1280, 700);
        AssertEscaped(index);
        var page = new Uri(nginx.Url, FirstImageLink(index));
        string dom = await Chromium.DumpDomAsync(page);
        await Chromium.ScreenshotAsync(page, "catalog-static-image");
        Assert.Contains("second", dom);
        // No URL was given: the page's script put its own archive root into the commands.
        Assert.Contains($"circular boot {nginx.Url.ToString().TrimEnd('/')} zoo-os@2", Tag().Replace(dom, ""));
        Assert.DoesNotContain("ARCHIVE_URL", dom);
        string script = await s_http.GetStringAsync(new Uri(page, Link(dom, "boot/zoo-os/1.ipxe")));
        Assert.StartsWith("#!ipxe", script);
        byte[] iso = await s_http.GetByteArrayAsync(new Uri(page, Link(dom, "boot/zoo-os/1.iso")));
        Assert.Equal("CD001"u8.ToArray(), iso.AsSpan(0x8001, 5).ToArray());
        // A publish keeps the static catalog current.
        (await CircularCli.RunAsync("tag", archive, "zoo-os@1", "golden")).Ok();
        Assert.Contains("golden", await Chromium.DumpDomAsync(page));
    }

    private static void AssertEscaped(string dom)
    {
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; tiny busybox", dom);
        Assert.DoesNotContain("<script>alert(1)", dom);
    }

    /// <summary>The first link on the front page naming the image: its catalog page.</summary>
    private static string FirstImageLink(string dom)
    {
        var m = ImageHref().Match(dom);
        Assert.True(m.Success, "the front page links no image page");
        return WebUtility.HtmlDecode(m.Groups[1].Value);
    }

    /// <summary>The href on the page that ends with <paramref name="target"/>.</summary>
    private static string Link(string dom, string target)
    {
        var href = Href().Matches(dom).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).FirstOrDefault(h => h.EndsWith(target, StringComparison.Ordinal));
        Assert.True(href is not null, $"the page has no link to {target}");
        return href;
    }

    [GeneratedRegex("href=\"([^\"]*zoo-os[^\"]*)\"")]
    private static partial Regex ImageHref();

    [GeneratedRegex("href=\"([^\"]+)\"")]
    private static partial Regex Href();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();
}
