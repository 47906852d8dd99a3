using System.Text.RegularExpressions;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// `circular mirror`, the stratum 1: from an archive served over HTTP into a directory and into S3, incremental
/// (a second run copies nothing, a new version only its new chunks and metadata), refusing corrupt or unsigned
/// source objects, resuming after a kill, and following new versions with --watch.
/// </summary>
public sealed partial class MirrorTests(S3Fixture s3, Scratch scratch) : IClassFixture<S3Fixture>, IClassFixture<Scratch>
{
    private const int Block = 256 * 1024;

    [GeneratedRegex(@"copied (\d+) objects")] private static partial Regex CopiedLine();

    private static long Copied(RunResult r)
    {
        var m = CopiedLine().Match(r.Out);
        Assert.True(m.Success, "no copy report in: " + r.Out);
        return long.Parse(m.Groups[1].Value);
    }

    private string Image(string name, int blocks, int seed, params int[] changed)
    {
        var bytes = RandomData.Bytes(blocks * Block, seed);
        foreach (int b in changed) RandomData.Bytes(Block, seed * 1000 + b).CopyTo(bytes, b * Block);
        File.WriteAllBytes(scratch[name], bytes);
        return scratch[name];
    }

    private async Task AssertCatAsync(string location, string spec, string expected, IReadOnlyDictionary<string, string>? env = null)
    {
        string output = scratch[$"out-{Guid.NewGuid():N}"];
        (await CircularCli.RunAsync(env, "cat", location, spec, "-o", output, "--cache", "none")).Ok();
        Files.AssertSameBytes(expected, output);
        File.Delete(output);
    }

    [Fact]
    public async Task HttpToDirectory_isIncremental_andVerifiesClean()
    {
        string origin = await scratch.InitArchiveAsync("inc-origin");
        string v1 = Image("inc1.img", 8, 1), v2 = Image("inc2.img", 8, 1, 3), v3 = Image("inc3.img", 8, 1, 3, 6);
        (await CircularCli.RunAsync("push", origin, "os", v1)).Ok();
        (await CircularCli.RunAsync("push", origin, "os", v2)).Ok();
        var (server, url) = await CircularCli.ServeAsync(origin);
        await using var _ = server;
        string mirror = scratch["inc-mirror"];

        var first = (await CircularCli.RunAsync("mirror", url.ToString(), mirror)).Ok();
        Assert.Contains("os: 2 version(s) copied", first.Out);
        Assert.Contains("all good", (await CircularCli.RunAsync("verify", mirror)).Ok().Out);
        await AssertCatAsync(mirror, "os@1", v1);
        await AssertCatAsync(mirror, "os@2", v2);

        var second = (await CircularCli.RunAsync("mirror", url.ToString(), mirror)).Ok();
        Assert.Equal(0, Copied(second));
        Assert.Contains("os: up to date", second.Out);

        // A new version with one new block: that chunk, the manifest, the refs and the image list's unchanged copy are all it takes.
        (await CircularCli.RunAsync("push", origin, "os", v3)).Ok();
        var third = (await CircularCli.RunAsync("mirror", url.ToString(), mirror)).Ok();
        Assert.Contains("os: 1 version(s) copied", third.Out);
        Assert.Equal(3, Copied(third)); // 1 chunk + manifest + refs
        await AssertCatAsync(mirror, "os", v3);
        Assert.Contains("all good", (await CircularCli.RunAsync("verify", mirror)).Ok().Out);
    }

    [Fact]
    public async Task A_source_that_became_format_2_makes_its_mirror_format_2_before_copying_content_chunks()
    {
        string origin = await scratch.InitArchiveAsync("f2-origin", "--format", "1");
        string v1 = Image("f2-1.img", 4, 5), v2 = Image("f2-2.img", 4, 5, 2);
        (await CircularCli.RunAsync("push", origin, "os", v1)).Ok();
        var (server, url) = await CircularCli.ServeAsync(origin);
        await using var _ = server;
        string mirror = scratch["f2-mirror"];
        (await CircularCli.RunAsync("mirror", url.ToString(), mirror)).Ok();
        Assert.Contains("\"formatVersion\": 1", File.ReadAllText(Path.Combine(mirror, "circular.json")));

        (await CircularCli.RunAsync("push", origin, "os", v2, "--chunking", "content")).Ok();
        var run = (await CircularCli.RunAsync("mirror", url.ToString(), mirror)).Ok();
        Assert.Contains("os: 1 version(s) copied", run.Out);
        Assert.Contains("\"formatVersion\": 2", File.ReadAllText(Path.Combine(mirror, "circular.json")));
        await AssertCatAsync(mirror, "os@1", v1);
        await AssertCatAsync(mirror, "os@2", v2);
        Assert.Contains("all good", (await CircularCli.RunAsync("verify", mirror)).Ok().Out);
    }

    [Fact]
    public async Task HttpToS3_thenS3ToDirectory_copiesEverythingOnce()
    {
        string origin = await scratch.InitArchiveAsync("s3-origin");
        string img = Image("s3m.img", 6, 2);
        (await CircularCli.RunAsync("push", origin, "os", img)).Ok();
        var (server, url) = await CircularCli.ServeAsync(origin);
        await using var _ = server;
        string dest = s3.Location("mirrored");

        var run = (await s3.RunAsync("mirror", url.ToString(), dest)).Ok();
        Assert.Contains("os: 1 version(s) copied", run.Out);
        Assert.Equal(0, Copied((await s3.RunAsync("mirror", url.ToString(), dest)).Ok()));
        await AssertCatAsync(dest, "os", img, s3.Env);
        Assert.Contains("all good", (await s3.RunAsync("verify", dest)).Ok().Out);
        // Stratum 2 from the bucket: S3 as a mirror's source.
        string local = scratch["from-s3"];
        (await s3.RunAsync("mirror", dest, local)).Ok();
        await AssertCatAsync(local, "os", img);
    }

    [Fact]
    public async Task CorruptSourceChunk_isRefused_andNothingOfThatVersionIsPublished()
    {
        string origin = await scratch.InitArchiveAsync("bad-origin");
        string img = Image("bad.img", 4, 3);
        (await CircularCli.RunAsync("push", origin, "os", img)).Ok();
        string chunk = Directory.GetFiles(Path.Combine(origin, "chunks"), "*", SearchOption.AllDirectories)[0];
        byte[] good = File.ReadAllBytes(chunk);
        byte[] bad = (byte[])good.Clone();
        bad[^5] ^= 0x55;
        File.WriteAllBytes(chunk, bad);
        string mirror = scratch["bad-mirror"];

        var r = await CircularCli.RunAsync("mirror", origin, mirror);

        Assert.Equal(1, r.Code);
        Assert.Contains("refused os", r.Err);
        Assert.Contains(Path.GetFileName(chunk), r.Err);
        Assert.False(File.Exists(Path.Combine(mirror, "images", "os", "refs.json")), "refs of a refused image were written");
        Assert.Empty(Directory.GetFiles(mirror, Path.GetFileName(chunk), SearchOption.AllDirectories));
        // Repaired at the source, the next run completes it.
        File.WriteAllBytes(chunk, good);
        (await CircularCli.RunAsync("mirror", origin, mirror)).Ok();
        await AssertCatAsync(mirror, "os", img);
    }

    [Fact]
    public async Task SignedSource_withAnUnsignedManifest_isRefused()
    {
        string origin = await scratch.InitArchiveAsync("sig-origin");
        string key = scratch["sig.key"];
        (await CircularCli.RunAsync("key", "generate", key)).Ok();
        (await CircularCli.RunAsync("push", origin, "os", Image("sig1.img", 3, 4), "--key", key)).Ok();
        (await CircularCli.RunAsync("push", origin, "os", Image("sig2.img", 3, 5), "--key", key)).Ok();
        File.Delete(Path.Combine(origin, "images", "os", "versions", "2.sig"));
        string mirror = scratch["sig-mirror"];

        var r = await CircularCli.RunAsync("mirror", origin, mirror, "--trust", key + ".pub");

        Assert.Equal(1, r.Code);
        Assert.Contains("not signed", r.Err);
        Assert.False(File.Exists(Path.Combine(mirror, "images", "os", "refs.json")));
        // A key that did not sign the source is refused outright too.
        string other = scratch["other.key"];
        (await CircularCli.RunAsync("key", "generate", other)).Ok();
        var wrongKey = await CircularCli.RunAsync("mirror", origin, scratch["sig-mirror2"], "--trust", other + ".pub");
        Assert.Equal(1, wrongKey.Code);
        Assert.Contains("not trusted", wrongKey.Err);
    }

    [Fact]
    public async Task KilledMidway_rerunCompletes_andVerifiesClean()
    {
        string origin = await scratch.InitArchiveAsync("kill-origin");
        string img = Image("killm.img", 160, 6);
        (await CircularCli.RunAsync("push", origin, "os", img)).Ok();
        // The source stalls from the 21st chunk on, so the kill lands mid-copy however fast this machine
        // is: a free-running copy of 160 chunks could finish between two polls and the kill (CI, 2026-12-07).
        int chunkGets = 0;
        await using var server = new FaultyHttpServer(origin, HttpFault.Stall) {
            Targets = p => p.StartsWith("/chunks/", StringComparison.Ordinal) && Interlocked.Increment(ref chunkGets) > 20,
        };
        var url = server.Url;
        string mirror = scratch["kill-mirror"];
        await using (var m = CircularCli.Start("mirror", url.ToString(), mirror, "--parallel", "1"))
        {
            await ArchiveChecks.WaitForChunkFilesAsync(mirror, 20, m);
            Assert.True(ArchiveChecks.CountChunkFiles(mirror) >= 20 && !m.HasExited, $"the mirror did not copy the 20 chunks its source serves before stalling\n{m.Err}");
            m.Signal("KILL");
            await m.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        int partial = ArchiveChecks.CountChunkFiles(mirror);
        Assert.InRange(partial, 1, 159);
        Assert.False(File.Exists(Path.Combine(mirror, "images", "os", "refs.json")), "refs written before the version was complete");

        server.Healed = true;
        var rerun = (await CircularCli.RunAsync("mirror", url.ToString(), mirror)).Ok();
        Assert.True(Copied(rerun) <= 160 - partial + 4, $"the rerun copied again what was there: {rerun.Out}");
        Assert.Contains("all good", (await CircularCli.RunAsync("verify", mirror)).Ok().Out);
        await AssertCatAsync(mirror, "os", img);
    }

    [Fact]
    public async Task Watch_replicatesEachNewVersion()
    {
        string origin = await scratch.InitArchiveAsync("watch-origin");
        (await CircularCli.RunAsync("push", origin, "os", Image("w1.img", 3, 7))).Ok();
        string mirror = scratch["watch-mirror"];
        await using var watcher = CircularCli.Start("mirror", origin, mirror, "--watch", "0.5");
        await watcher.WaitForOutputAsync("os: 1 version(s) copied", TimeSpan.FromSeconds(30));
        string v2 = Image("w2.img", 3, 7, 1);
        (await CircularCli.RunAsync("push", origin, "os", v2)).Ok();
        await watcher.WaitForOutputAsync("refs at serial 2", TimeSpan.FromSeconds(30));
        await watcher.StopAsync("TERM");
        await AssertCatAsync(mirror, "os@2", v2);
    }

    [Fact]
    public async Task Images_option_replicatesOnlyTheNamedImages()
    {
        string origin = await scratch.InitArchiveAsync("sel-origin");
        string a = Image("sel-a.img", 2, 8), b = Image("sel-b.img", 2, 9);
        (await CircularCli.RunAsync("push", origin, "alpha", a)).Ok();
        (await CircularCli.RunAsync("push", origin, "beta", b)).Ok();
        string mirror = scratch["sel-mirror"];
        var r = (await CircularCli.RunAsync("mirror", origin, mirror, "--images", "beta")).Ok();
        Assert.Contains("beta: 1 version(s) copied", r.Out);
        Assert.DoesNotContain("alpha", r.Out);
        Assert.Equal("beta", (await CircularCli.RunAsync("images", mirror)).Ok().Out.Split('\n')[1].Split(' ')[0]);
        await AssertCatAsync(mirror, "beta", b);
        var missing = await CircularCli.RunAsync("mirror", origin, mirror, "--images", "gamma");
        Assert.Equal(1, missing.Code);
        Assert.Contains("refused gamma: no such image in the source", missing.Err);
    }

    [Fact]
    public async Task BadMirrorInput_givesOneLineErrors()
    {
        var notArchive = await CircularCli.RunAsync("mirror", scratch.NewDir("empty-src"), scratch["x"]);
        Assert.NotEqual(0, notArchive.Code);
        Assert.Contains("not a Circular archive", notArchive.Err);
        string origin = await scratch.InitArchiveAsync("in-origin");
        string busy = scratch.NewDir("busy");
        File.WriteAllText(Path.Combine(busy, "notes.txt"), "mine");
        var r = await CircularCli.RunAsync("mirror", origin, busy);
        Assert.Equal(2, r.Code);
        Assert.Contains("neither a Circular archive nor empty", r.Err);
        // Writer state alone (a mirror killed before it wrote circular.json) is not someone else's directory: resumed.
        string killedEarly = scratch.NewDir("killed-early");
        Directory.CreateDirectory(Path.Combine(killedEarly, ".tmp"));
        Directory.CreateDirectory(Path.Combine(killedEarly, ".locks"));
        (await CircularCli.RunAsync("mirror", origin, killedEarly)).Ok();
        Assert.True(File.Exists(Path.Combine(killedEarly, "circular.json")));
        Assert.Equal(2, (await CircularCli.RunAsync("mirror", origin, scratch["w"], "--watch", "0")).Code);
        Assert.Equal(2, (await CircularCli.RunAsync("mirror", origin, "http://127.0.0.1:1/x")).Code);
    }
}
