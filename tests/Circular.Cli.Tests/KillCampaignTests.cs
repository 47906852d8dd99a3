using System.Diagnostics;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// The fault campaign of the hardening issue: every command that writes an archive (push, commit, gc, optimize,
/// mirror) killed with SIGKILL at <see cref="Points"/> moments spread at random over its undisturbed run time. After
/// each kill every version the archive lists reads byte-exact and `verify` is clean; running the command again
/// completes, and after the campaign every version reads byte-exact.
/// </summary>
public sealed class KillCampaignTests(Scratch scratch) : IClassFixture<Scratch>
{
    private const int Points = 50;
    private const int Block = 64 * 1024;

    /// <summary>
    /// Runs the command <paramref name="prepare"/> gives undisturbed a few times to time it, then <see cref="Points"/>
    /// times killed after a random share of that time, calling <paramref name="check"/> after each run (true: it was
    /// killed).
    /// </summary>
    private static async Task CampaignAsync(int seed, Func<int, Task<string[]>> prepare, Func<int, bool, Task> check)
    {
        // The shortest of three runs: a first run can be much slower than the campaign's (a commit whose chunks are
        // already stored skips most of its work; caches are cold), and timing by it lands most kills after the end.
        // Runs of the campaign that end before their kill time it again.
        var undisturbed = TimeSpan.MaxValue;
        for (int warm = 0; warm < 3; warm++)
        {
            var args = await prepare(-1 - warm);
            var clock = Stopwatch.StartNew();
            (await CircularCli.RunAsync(args)).Ok();
            if (clock.Elapsed < undisturbed) undisturbed = clock.Elapsed;
            await check(-1 - warm, false);
        }
        var random = new Random(seed);
        int killed = 0;
        for (int i = 0; i < Points; i++)
        {
            var args = await prepare(i);
            var delay = undisturbed * random.NextDouble();
            bool wasKilled;
            await using (var p = CircularCli.Start(args))
            {
                var clock = Stopwatch.StartNew();
                var exit = p.WaitForExitAsync(TimeSpan.FromMinutes(2));
                // A run that ends before its kill is timed: the machine's load changes during a campaign (CI runs
                // other tests beside it), and kills timed by a slower moment would mostly land after the end.
                if (await Task.WhenAny(exit, Task.Delay(delay)) == exit) undisturbed = clock.Elapsed;
                wasKilled = !p.HasExited;
                p.Signal("KILL");
                int code = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
                Assert.True(wasKilled || code == 0, $"{string.Join(' ', args)} failed on its own (exit {code})\n{p.Err}");
            }
            if (wasKilled) killed++;
            await check(i, wasKilled);
        }
        // Process start-up takes part of the run, so some kills land before any work; most must land during it.
        Assert.True(killed >= Points / 2, $"only {killed} of {Points} runs were still running when killed (undisturbed run {undisturbed.TotalMilliseconds:F0} ms)");
    }

    /// <summary>Reads a version out and compares its SHA-256 with the expected one.</summary>
    private async Task AssertReadsAsync(string archive, string spec, string expectedSha)
    {
        string output = scratch["read-" + Guid.NewGuid().ToString("N")];
        (await CircularCli.RunAsync("cat", archive, spec, "-o", output, "--cache", "none")).Ok();
        string got = Files.Sha256(output);
        File.Delete(output);
        Assert.True(got == expectedSha, $"{spec} of {archive} does not read back as it was written");
    }

    private static string Sha(byte[] data) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data));

    [Fact]
    public async Task Push_killed_at_50_points_loses_no_version_and_reruns_complete()
    {
        string archive = await scratch.InitArchiveAsync("push-archive");
        var expected = new Dictionary<int, string>();
        byte[] v1 = RandomData.Bytes(2 << 20, 1);
        File.WriteAllBytes(scratch["push-v1.img"], v1);
        (await CircularCli.RunAsync("push", archive, "os", scratch["push-v1.img"], "--chunk-size", "64K")).Ok();
        expected[1] = Sha(v1);
        string image = scratch["push-next.img"];
        string pending = "";
        await CampaignAsync(101, i =>
        {
            // A new image each run (compressible text at zlib's slowest level: a second of work to cut into).
            byte[] data = TestImages.TextBytes(8 << 20, 1000 + i);
            File.WriteAllBytes(image, data);
            pending = Sha(data);
            return Task.FromResult<string[]>(["push", archive, "os", image, "--chunk-size", "64K", "--codec", "zlib", "--level", "9"]);
        }, async (i, killed) =>
        {
            var versions = RefsFile.Versions(archive, "os");
            var added = versions.Where(v => !expected.ContainsKey(v)).ToList();
            Assert.True(added.Count <= 1, $"one push published {added.Count} versions");
            foreach (int v in added) expected[v] = pending;
            Assert.Equal(expected.Keys.Order(), versions);
            await ArchiveChecks.VerifyCleanAsync(archive);
            foreach (int v in added) await AssertReadsAsync(archive, $"os@{v}", expected[v]);
            int earlier = versions[new Random(i + 7).Next(versions.Length)];
            await AssertReadsAsync(archive, $"os@{earlier}", expected[earlier]);
            if (killed && i % 5 == 0)
            {
                // A killed push, run again, completes (every fifth: the other kills build on what the last left).
                var rerun = PushOutput.Parse((await CircularCli.RunAsync("push", archive, "os", image, "--chunk-size", "64K", "--codec", "zlib", "--level", "9")).Ok());
                expected[rerun.Version] = pending;
                await AssertReadsAsync(archive, $"os@{rerun.Version}", pending);
            }
        });
        await ArchiveChecks.VerifyCleanAsync(archive);
        foreach (var (v, sha) in expected) await AssertReadsAsync(archive, $"os@{v}", sha);
        (await CircularCli.RunAsync("gc", archive)).Ok();
        await ArchiveChecks.VerifyCleanAsync(archive);
    }

    [Fact]
    public async Task Commit_killed_at_50_points_publishes_only_the_whole_overlay_and_reruns_complete()
    {
        string archive = await scratch.InitArchiveAsync("commit-archive");
        byte[] baseImage = RandomData.Bytes(8 << 20, 2);
        File.WriteAllBytes(scratch["commit-v1.img"], baseImage);
        (await CircularCli.RunAsync("push", archive, "os", scratch["commit-v1.img"], "--chunk-size", "64K")).Ok();
        string baseSha = Sha(baseImage);

        // An overlay with 48 changed 64 KiB blocks, written through NBD as a guest would.
        string snapshot = scratch.NewDir("commit-overlay-snapshot"), sock = scratch["commit.sock"];
        var writes = Enumerable.Range(0, 48).Select(k => (Offset: (long)(k * 2 + 1) * Block + (k % 3) * 4096, Pattern: 0x10 + k)).ToList();
        await using (var nbd = CircularCli.Start("nbd", archive, "--socket", sock, "--writable", "--overlay", snapshot, "--cache", "none"))
        {
            await nbd.WaitForOutputAsync("serving", TimeSpan.FromSeconds(30));
            var qemuArgs = new List<string> { "-f", "raw" };
            foreach (var (offset, pattern) in writes) qemuArgs.AddRange(["-c", $"write -P {pattern} {offset} {Block}"]);
            qemuArgs.AddRange(["-c", "flush", $"nbd+unix:///os?socket={sock}"]);
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", [.. qemuArgs])).Ok();
            await nbd.StopAsync("TERM");
        }
        byte[] changed = (byte[])baseImage.Clone();
        foreach (var (offset, pattern) in writes) Array.Fill(changed, (byte)pattern, (int)offset, Block);
        string changedSha = Sha(changed);

        string overlay = scratch["commit-overlay"];
        var known = new HashSet<int> { 1 };
        async Task CheckNewVersionsAsync()
        {
            foreach (int v in RefsFile.Versions(archive, "os").Where(v => known.Add(v)))
                await AssertReadsAsync(archive, $"os@{v}", changedSha); // base + every write, never part of them
        }
        await CampaignAsync(202, _ =>
        {
            if (Directory.Exists(overlay)) Directory.Delete(overlay, true);
            CopyTree(snapshot, overlay);
            return Task.FromResult<string[]>(["commit", archive, "os", "--overlay", overlay]);
        }, async (i, killed) =>
        {
            await CheckNewVersionsAsync();
            await ArchiveChecks.VerifyCleanAsync(archive);
            await AssertReadsAsync(archive, "os@1", baseSha);
            if (!killed) return;
            // Run again on what the kill left: it commits the overlay, or finds none when the killed run had finished.
            var rerun = await CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay);
            if (rerun.Code != 0) Assert.Contains("no overlay", rerun.Err, StringComparison.Ordinal);
            await CheckNewVersionsAsync();
        });
        await ArchiveChecks.VerifyCleanAsync(archive);
        Assert.True(known.Count > Points / 2, $"only {known.Count - 1} commits were published");
    }

    [Fact]
    public async Task Gc_killed_at_50_points_never_deletes_a_kept_chunk_and_reruns_complete()
    {
        string archive = await scratch.InitArchiveAsync("gc-archive");
        var expected = new Dictionary<int, string>();
        for (int v = 1; v <= 3; v++)
        {
            byte[] data = RandomData.Bytes(4 << 20, 30 + v);
            Array.Copy(RandomData.Bytes(1 << 20, 30), data, 1 << 20); // shared by every version
            File.WriteAllBytes(scratch["gc.img"], data);
            (await CircularCli.RunAsync("push", archive, "os", scratch["gc.img"], "--chunk-size", "64K")).Ok();
            expected[v] = Sha(data);
        }
        // Garbage to collect: 240 chunk files no version references, put back before every run.
        string garbage = await scratch.InitArchiveAsync("gc-garbage");
        File.WriteAllBytes(scratch["gc-garbage.img"], RandomData.Bytes(15 << 20, 39));
        (await CircularCli.RunAsync("push", garbage, "junk", scratch["gc-garbage.img"], "--chunk-size", "64K")).Ok();
        int kept = ChunkFiles(archive).Count;
        await CampaignAsync(303, _ =>
        {
            CopyTree(Path.Combine(garbage, "chunks"), Path.Combine(archive, "chunks"));
            return Task.FromResult<string[]>(["gc", archive]);
        }, async (i, killed) =>
        {
            Assert.Equal([1, 2, 3], RefsFile.Versions(archive, "os"));
            await ArchiveChecks.VerifyCleanAsync(archive);
            int v = 1 + (i + 3) % 3;
            await AssertReadsAsync(archive, $"os@{v}", expected[v]);
            if (!killed) return;
            (await CircularCli.RunAsync("gc", archive)).Ok();
            Assert.Equal(kept, ChunkFiles(archive).Count);
        });
        foreach (var (v, sha) in expected) await AssertReadsAsync(archive, $"os@{v}", sha);
    }

    [Fact]
    public async Task Optimize_killed_at_50_points_keeps_every_version_exact_and_reruns_complete()
    {
        string archive = await scratch.InitArchiveAsync("opt-archive");
        byte[] data = TestImages.TextBytes(16 << 20, 4);
        string image = scratch["opt.img"];
        File.WriteAllBytes(image, data);
        (await CircularCli.RunAsync("push", archive, "os", image)).Ok();
        string sha = Sha(data);
        // A profile of 400 scattered 4 KiB reads, recorded through NBD.
        string profile = scratch["opt.profile"], sock = scratch["opt.sock"];
        await using (var nbd = CircularCli.Start("nbd", archive, "--socket", sock, "--cache", "none", "--record-profile", profile))
        {
            await nbd.WaitForOutputAsync("serving", TimeSpan.FromSeconds(30));
            var random = new Random(41);
            var qemuArgs = new List<string> { "-r", "-f", "raw" };
            for (int k = 0; k < 400; k++) qemuArgs.AddRange(["-c", $"read {(long)random.Next((16 << 20) / 4096) * 4096} 4096"]);
            qemuArgs.Add($"nbd+unix:///os@1?socket={sock}");
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", [.. qemuArgs])).Ok();
            await nbd.StopAsync("TERM");
        }
        (await CircularCli.RunAsync("profile", "push", archive, "os", profile)).Ok();
        string[] optimize = ["optimize", archive, "os@1", "--level", "19", "--pack-size", "256K"];
        await CampaignAsync(404, _ => Task.FromResult(optimize), async (i, killed) =>
        {
            Assert.Equal([1], RefsFile.Versions(archive, "os"));
            await ArchiveChecks.VerifyCleanAsync(archive);
            await AssertReadsAsync(archive, "os@1", sha); // through its packs when the refs list them
            if (!killed) return;
            Assert.Contains("packed", (await CircularCli.RunAsync(optimize)).Ok().Out, StringComparison.Ordinal);
        });
        await AssertReadsAsync(archive, "os", sha);
    }

    [Fact]
    public async Task Mirror_killed_at_50_points_leaves_a_destination_that_verifies_and_reruns_complete()
    {
        string source = await scratch.InitArchiveAsync("mirror-source");
        var expected = new Dictionary<int, string>();
        for (int v = 1; v <= 3; v++)
        {
            byte[] data = RandomData.Bytes(4 << 20, 50 + v);
            File.WriteAllBytes(scratch["mirror.img"], data);
            (await CircularCli.RunAsync("push", source, "os", scratch["mirror.img"], "--chunk-size", "64K")).Ok();
            expected[v] = Sha(data);
        }
        string dest = scratch["mirror-dest"];
        async Task CheckDestAsync()
        {
            if (!File.Exists(Path.Combine(dest, "images", "os", "refs.json"))) return; // refs come last: nothing published yet
            var versions = RefsFile.Versions(dest, "os");
            Assert.Subset(expected.Keys.ToHashSet(), versions.ToHashSet());
            await ArchiveChecks.VerifyCleanAsync(dest);
            foreach (int v in versions) await AssertReadsAsync(dest, $"os@{v}", expected[v]);
        }
        await CampaignAsync(505, _ =>
        {
            if (Directory.Exists(dest)) Directory.Delete(dest, true);
            return Task.FromResult<string[]>(["mirror", source, dest]);
        }, async (i, killed) =>
        {
            await CheckDestAsync();
            if (!killed) return;
            (await CircularCli.RunAsync("mirror", source, dest)).Ok();
            Assert.Equal([1, 2, 3], RefsFile.Versions(dest, "os"));
            await CheckDestAsync();
        });
    }

    private static List<string> ChunkFiles(string archive) =>
        [.. Directory.EnumerateFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.'))];

    private static void CopyTree(string from, string to)
    {
        foreach (string dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
    }
}
