using System.Text.RegularExpressions;
using Circular.EndToEnd.Tests.Support;

namespace Circular.EndToEnd.Tests;

/// <summary>Issue 5: `circular demo` end to end, and `circular boot` from an archive served over HTTP.</summary>
public sealed partial class BootTests(DemoRun demo) : IClassFixture<DemoRun>, IDisposable
{
    private readonly Scratch _s = new();
    private const string Marker = "CIRCULAR-READY";

    [GeneratedRegex(@"^(?<title>\S.*?)\s+(?<version>demo-os@\d+)\s+(?<ready>[\d.]+ s|-)\s+(?<fetched>[\d.]+ [KMGT]?i?B)\s+(?<image>[\d.]+ [KMGT]?i?B)\s+(?<hits>\d+)(?<failed>\s+FAILED)?\s*$", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [Fact]
    public void Demo_rolls_forward_back_and_forward_fetching_little()
    {
        var r = demo.Result.Ok();

        var says = r.Out.Split('\n').Where(l => l.StartsWith("demo: guest says: " + Marker, StringComparison.Ordinal)).ToList();
        Assert.True(says.Count == 3, "expected three ready markers:\n" + r.Out);
        Assert.Contains(" version=2 ", says[0], StringComparison.Ordinal);
        Assert.Contains(" version=1 ", says[1], StringComparison.Ordinal);
        Assert.Contains(" version=2 ", says[2], StringComparison.Ordinal);

        var rows = TableRow().Matches(r.Out).ToList();
        Assert.True(rows.Count == 3, "expected the three-row summary table:\n" + r.Out);
        Assert.Equal(["demo-os@2", "demo-os@1", "demo-os@2"], rows.Select(m => m.Groups["version"].Value).ToArray());
        Assert.All(rows, m => Assert.False(m.Groups["failed"].Success || m.Groups["ready"].Value == "-", "a boot failed: " + m.Value));

        long image = ByteSizes.Parse(rows[0].Groups["image"].Value);
        long cold = ByteSizes.Parse(rows[0].Groups["fetched"].Value);
        long warm = ByteSizes.Parse(rows[2].Groups["fetched"].Value);
        Assert.True(cold > 0 && cold < image / 4, $"cold boot fetched {cold} bytes of a {image}-byte image");
        Assert.True(warm < 256 << 10, $"warm boot fetched {warm} bytes: the cache should have served nearly everything");
        Assert.True(long.Parse(rows[2].Groups["hits"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, "warm boot had no cache hits");
        Assert.Contains("done:", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Boot_from_an_http_archive_with_stored_kernel_and_miniroot()
    {
        demo.Result.Ok();
        string image = Path.Combine(demo.Work, "v1.img"), miniroot = Path.Combine(demo.Work, "miniroot.img");
        string kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).Last();
        string archive = _s["archive"];
        (await CircularCli.RunAsync("init", archive)).Ok();
        (await CircularCli.RunAsync("push", archive, "guest", image, "--kernel", kernel, "--initrd", miniroot,
            "--append", "console=ttyS0 root=/dev/vda init=/init quiet panic=-1", "-m", "boot assets stored")).Ok();

        int port = Ports.Free();
        string url = $"http://127.0.0.1:{port}";
        await using var serve = await CircularCli.StartAsync("serving", "serve", archive, "--listen", $"127.0.0.1:{port}");

        // A missing version: one clear line, and no guest started.
        var missing = await CircularCli.RunAsync(TimeSpan.FromSeconds(60), "boot", url, "guest@7", "--cache", _s["cache"]);
        missing.FailsWithOneLine("7");
        Assert.DoesNotContain("qemu", missing.Err, StringComparison.OrdinalIgnoreCase);

        var boot = await CircularCli.RunAsync(TimeSpan.FromMinutes(2), "boot", url, "guest@1", "--ready-marker", Marker, "--cache", _s["cache"], "--memory", "256M");
        boot.Ok();
        Assert.Contains($"{Marker} version=1 ", boot.Out, StringComparison.Ordinal);
        Assert.Contains("ready after", boot.Err, StringComparison.Ordinal);
        var fetched = Regex.Match(boot.Err, @"fetched (?<f>[\d.]+ [KMGT]?i?B) in \d+ requests for a (?<i>[\d.]+ [KMGT]?i?B) image");
        Assert.True(fetched.Success, "no fetch statistics:\n" + boot.Err);
        Assert.True(ByteSizes.Parse(fetched.Groups["f"].Value) < ByteSizes.Parse(fetched.Groups["i"].Value) / 4, boot.Err);
        await serve.StopAsync("TERM");
    }

    [Fact]
    public async Task Boot_from_a_public_S3_bucket_read_over_plain_http()
    {
        demo.Result.Ok();
        string image = Path.Combine(demo.Work, "v1.img"), miniroot = Path.Combine(demo.Work, "miniroot.img");
        string kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).Last();
        await using var moto = await MotoServer.StartAsync();
        await moto.CreatePublicBucketAsync("boot-bucket");
        // Published with credentials into the bucket...
        (await CircularCli.RunAsync(moto.Environment, "init", "s3://boot-bucket/zoo")).Ok();
        (await CircularCli.RunAsync(moto.Environment, "push", "s3://boot-bucket/zoo", "guest", image, "--kernel", kernel, "--initrd", miniroot,
            "--append", "console=ttyS0 root=/dev/vda init=/init quiet panic=-1")).Ok();

        // ...and booted by a client with none, reading the bucket as any static web server (a public bucket, or a CDN).
        var boot = await CircularCli.RunAsync(TimeSpan.FromMinutes(2), "boot", moto.HttpUrl("boot-bucket", "zoo"), "guest",
            "--ready-marker", Marker, "--cache", _s["s3cache"], "--memory", "256M");
        boot.Ok();
        Assert.Contains($"{Marker} version=1 ", boot.Out, StringComparison.Ordinal);
    }

    public void Dispose() => _s.Dispose();
}
