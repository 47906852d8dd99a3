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
    public async Task Boot_writable_keeps_the_guests_writes_in_an_overlay_that_commit_publishes()
    {
        demo.Result.Ok();
        string image = Path.Combine(demo.Work, "v1.img"), miniroot = Path.Combine(demo.Work, "miniroot.img");
        string kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).Last();
        string archive = _s["archive"];
        (await CircularCli.RunAsync("init", archive)).Ok();
        (await CircularCli.RunAsync("push", archive, "guest", image, "--kernel", kernel, "--initrd", miniroot,
            "--append", "console=ttyS0 root=/dev/vda init=/init quiet panic=-1")).Ok();

        // The miniroot with another /init (a later cpio member replaces an earlier one): it writes a line into the
        // middle of its disk through the kernel's page cache, syncs and powers off.
        const long Offset = 10 << 20;
        const string Line = "written-by-the-guest";
        Assert.True(new FileInfo(image).Length > Offset + 4096);
        var writer = new Circular.Boot.Initramfs.CpioArchive();
        writer.AddFile("init", System.Text.Encoding.ASCII.GetBytes($"""
            #!/bin/busybox sh
            /bin/busybox --install -s /bin
            mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
            for m in $(cat /modules.order); do insmod "/lib/modules/$m" 2>/dev/null; done
            i=0; while [ ! -b /dev/vda ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
            printf '{Line}' | dd of=/dev/vda bs=4096 seek={Offset / 4096} conv=notrunc 2>/dev/null && sync && echo "{Marker} wrote"
            poweroff -f

            """), 0x1ed);
        byte[] original = await File.ReadAllBytesAsync(miniroot);
        string writerInitrd = _s["writer.img"];
        await File.WriteAllBytesAsync(writerInitrd, [.. original, .. new byte[(4 - original.Length % 4) % 4], .. writer.ToArray()]);

        string overlay = _s["overlay"];
        var boot = await CircularCli.RunAsync(TimeSpan.FromMinutes(2), "boot", archive, "guest@1", "--writable", "--overlay", overlay,
            "--initrd", writerInitrd, "--ready-marker", Marker, "--cache", "none", "--memory", "256M");
        boot.Ok();
        Assert.Contains($"{Marker} wrote", boot.Out, StringComparison.Ordinal);

        (await CircularCli.RunAsync("commit", archive, "guest", "--overlay", overlay, "-m", "the guest's write")).Ok();
        (await CircularCli.RunAsync("cat", archive, "guest@2", "-o", _s["v2.img"])).Ok();
        (await CircularCli.RunAsync("cat", archive, "guest@1", "-o", _s["v1.img"])).Ok();
        byte[] expected = await File.ReadAllBytesAsync(image);
        System.Text.Encoding.ASCII.GetBytes(Line).CopyTo(expected, Offset);
        byte[] v2 = await File.ReadAllBytesAsync(_s["v2.img"]);
        Assert.True(expected.AsSpan().SequenceEqual(v2), "version 2 is not version 1 plus the guest's write");
        Files.AssertSameBytes(image, _s["v1.img"]); // version 1 untouched
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
