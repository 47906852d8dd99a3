using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// `import` (a plain image read over HTTP ranges, published as a version), and every command that publishes to a
/// signed archive (push, import, commit, tag): refused without the archive's key (exit 2), signed with it, and verified by
/// readers that trust it.
/// </summary>
public sealed class ImportAndSignedWriteTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    /// <summary>A directory holding plain.img, served with ranges.</summary>
    private FaultyHttpServer PlainImageServer(string image)
    {
        string dir = _s.NewDir("web-" + Guid.NewGuid().ToString("N")[..8]);
        File.Copy(image, Path.Combine(dir, "plain.img"));
        return new FaultyHttpServer(dir, HttpFault.None);
    }

    private async Task AssertReadsAsync(string archive, string spec, byte[] expected, params string[] extra)
    {
        string output = _s["read-" + Guid.NewGuid().ToString("N")];
        (await CircularCli.RunAsync(["cat", archive, spec, "-o", output, "--cache", "none", .. extra])).Ok();
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(output)), $"{spec} does not read back as published");
    }

    [Fact]
    public async Task Import_publishes_the_exact_bytes_of_a_plain_image_read_over_ranges_and_again_stores_nothing_new()
    {
        string archive = await _s.InitArchiveAsync("import-archive");
        string image = RandomData.WriteFile(_s["plain.img"], 3 << 20, 41);
        await using var web = PlainImageServer(image);
        string url = new Uri(web.Url, "plain.img").ToString();

        var first = PushOutput.Parse((await CircularCli.RunAsync("import", url, archive, "os", "--cache", "none", "--tag", "imported")).Ok());
        Assert.Equal(1, first.Version);
        Assert.Equal(first.Total, first.New);
        await AssertReadsAsync(archive, "os@imported", File.ReadAllBytes(image));
        var again = PushOutput.Parse((await CircularCli.RunAsync("import", url, archive, "os", "--cache", "none")).Ok());
        Assert.Equal(2, again.Version);
        Assert.Equal(0, again.New);
        await ArchiveChecks.VerifyCleanAsync(archive);
    }

    [Fact]
    public async Task A_signed_archive_takes_import_commit_and_tag_only_with_its_key_and_trusting_readers_verify_them()
    {
        string archive = await _s.InitArchiveAsync("signed-archive");
        string key = _s["k"];
        (await CircularCli.RunAsync("key", "generate", key)).Ok();
        byte[] v1 = File.ReadAllBytes(RandomData.WriteFile(_s["v1.img"], 2 << 20, 42));
        (await CircularCli.RunAsync("push", archive, "os", _s["v1.img"], "--key", key)).Ok();

        // import
        byte[] v2 = File.ReadAllBytes(RandomData.WriteFile(_s["v2.img"], 2 << 20, 43));
        await using var web = PlainImageServer(_s["v2.img"]);
        string url = new Uri(web.Url, "plain.img").ToString();
        var unsigned = await CircularCli.RunAsync("import", url, archive, "os", "--cache", "none");
        Assert.Equal(2, unsigned.Code); // a usage error: the command needs an option it was not given
        Assert.Contains("pass --key", Assert.Single(unsigned.ErrLines), StringComparison.Ordinal);
        Assert.Equal(2, PushOutput.Parse((await CircularCli.RunAsync("import", url, archive, "os", "--cache", "none", "--key", key)).Ok()).Version);

        // commit of an overlay written through NBD
        string overlay = _s["overlay"], sock = _s["signed.sock"];
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--writable", "--overlay", overlay, "--cache", "none", "--trust", key + ".pub"))
        {
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", "write -P 0x3c 65536 65536", "-c", "flush", $"nbd+unix:///os?socket={sock}")).Ok();
            await nbd.StopAsync("TERM");
        }
        var commitUnsigned = await CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay);
        Assert.Equal(2, commitUnsigned.Code);
        Assert.Contains("pass --key", Assert.Single(commitUnsigned.ErrLines), StringComparison.Ordinal);
        (await CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay, "--key", key)).Ok();
        byte[] v3 = (byte[])v2.Clone();
        Array.Fill(v3, (byte)0x3c, 65536, 65536);

        // tag
        Assert.Equal(2, (await CircularCli.RunAsync("tag", archive, "os@3", "stable")).Code);
        (await CircularCli.RunAsync("tag", archive, "os@3", "stable", "--key", key)).Ok();

        foreach (var (spec, bytes) in new[] { ("os@1", v1), ("os@2", v2), ("os@stable", v3) })
            await AssertReadsAsync(archive, spec, bytes, "--trust", key + ".pub");
        await ArchiveChecks.VerifyCleanAsync(archive, "--trust", key + ".pub");

        // A reader trusting another key refuses every version.
        string other = _s["other"];
        (await CircularCli.RunAsync("key", "generate", other)).Ok();
        var wrong = await CircularCli.RunAsync("cat", archive, "os@stable", "-o", _s["wrong.img"], "--cache", "none", "--trust", other + ".pub");
        Assert.Equal(1, wrong.Code);
        Assert.False(File.Exists(_s["wrong.img"]));
    }
}

/// <summary>`--cache-size` through the CLI: the cache stays within its quota, also when several processes share it.</summary>
public sealed class CacheQuotaCliTests : IDisposable
{
    private const long Quota = 6 << 20;
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    /// <summary>What the cache's chunks take on disk: its segment files (docs/cache.md).</summary>
    private static long ChunkBytes(string cache) =>
        Directory.Exists(Path.Combine(cache, "segments"))
            ? Directory.EnumerateFiles(Path.Combine(cache, "segments"), "*.cseg").Sum(f => new FileInfo(f).Length)
            : 0;

    [Fact]
    public async Task Reads_of_more_than_the_quota_keep_the_cache_within_it_also_with_processes_sharing_it()
    {
        string archive = await _s.InitArchiveAsync("archive");
        var images = new Dictionary<string, string>();
        foreach (string name in new[] { "a", "b", "c" })
        {
            images[name] = RandomData.WriteFile(_s[name + ".img"], 4 << 20, name[0]);
            (await CircularCli.RunAsync("push", archive, name, images[name], "--chunk-size", "64K")).Ok();
        }
        string cache = _s["cache"];
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            foreach (string name in new[] { "a", "b", "c" })
            {
                (await CircularCli.RunAsync("cat", url.ToString(), name, "-o", _s[name + ".out"], "--cache", cache, "--cache-size", "6M")).Ok();
                Files.AssertSameBytes(images[name], _s[name + ".out"]);
                Assert.True(ChunkBytes(cache) <= Quota, $"the cache holds {ChunkBytes(cache)} bytes of chunks after {name}, over its 6 MiB quota");
            }
            Assert.True(ChunkBytes(cache) > Quota / 2, "the cache kept almost nothing: eviction went too far");

            // Processes at once on one cache, each evicting what the others may be reading or listing.
            for (int round = 0; round < 3; round++)
            {
                var readers = new[] { "a", "b", "c" }.Select(name =>
                    CircularCli.RunAsync("cat", url.ToString(), name, "-o", _s[$"{name}.{round}"], "--cache", cache, "--cache-size", "6M")).ToArray();
                foreach (var r in await Task.WhenAll(readers)) r.Ok();
                foreach (string name in new[] { "a", "b", "c" }) Files.AssertSameBytes(images[name], _s[$"{name}.{round}"]);
            }
            Assert.Empty(Directory.EnumerateFiles(cache, "*.tmp-*", SearchOption.AllDirectories));

            // Each process keeps the quota for what it knows while it runs; the next one to start trims what they left.
            (await CircularCli.RunAsync("cat", url.ToString(), "c", "-o", _s["c.again"], "--cache", cache, "--cache-size", "6M")).Ok();
            Files.AssertSameBytes(images["c"], _s["c.again"]);
            Assert.True(ChunkBytes(cache) <= Quota, $"the shared cache holds {ChunkBytes(cache)} bytes of chunks");
        }
    }
}
