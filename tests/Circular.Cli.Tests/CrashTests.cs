using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>Publishing is crash-safe and concurrent pushes never lose a version.</summary>
public sealed class CrashTests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task Push_killedMidway_leavesEarlierVersionsIntactAndRerunCompletes()
    {
        string archive = await scratch.InitArchiveAsync("kill");
        string v1 = RandomData.WriteFile(scratch["v1.img"], 3 << 20, 1);
        await PushOutput.PushAsync(archive, "os", v1);
        int chunksOfV1 = ArchiveChecks.CountChunkFiles(archive);
        // 96 MiB (1536 blocks of 64K) of compressible data at zlib level 9 on one core (about 20 MB/s): seconds of work,
        // killed after 200 blocks. On all cores a CI machine once finished 32 MiB before the test could see 200 blocks.
        const int Blocks = 1536;
        string big = scratch["big.img"];
        File.WriteAllBytes(big, TestImages.TextBytes(Blocks << 16, 2));
        string[] args = ["push", archive, "os", big, "--chunk-size", "64K", "--codec", "zlib", "--level", "9"];

        await using (var p = CircularCli.Start(new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "1" }, args))
        {
            await ArchiveChecks.WaitForChunkFilesAsync(archive, chunksOfV1 + 200, p);
            Assert.False(p.HasExited, "the push finished before it could be killed; make the image bigger");
            p.Signal("KILL");
            await p.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        int written = ArchiveChecks.CountChunkFiles(archive) - chunksOfV1;
        Assert.True(written >= 200 && written < Blocks, $"expected a partial push, found {written} new chunks");

        Assert.Equal([1], RefsFile.Versions(archive, "os"));
        (await CircularCli.RunAsync("verify", archive)).Ok();
        (await CircularCli.RunAsync("cat", archive, "os", "-o", scratch["after-kill"])).Ok();
        Files.AssertSameBytes(v1, scratch["after-kill"]);

        var rerun = PushOutput.Parse((await CircularCli.RunAsync(args)).Ok());
        Assert.Equal(2, rerun.Version);
        Assert.True(rerun.Reused >= written, $"the re-run wrote again what the killed push had stored ({rerun.Reused} reused, {written} there)");
        (await CircularCli.RunAsync("verify", archive)).Ok();
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", scratch["v2-out"])).Ok();
        Files.AssertSameBytes(big, scratch["v2-out"]);
        (await CircularCli.RunAsync("gc", archive)).Ok();
        Assert.Empty(Directory.GetFiles(archive, ".tmp-*", SearchOption.AllDirectories));
        File.Delete(big);
        File.Delete(scratch["v2-out"]);
    }

    [Fact]
    public async Task Push_twoAtOnceToOneImage_bothBecomeVersions()
    {
        string archive = await scratch.InitArchiveAsync("conc");
        await PushOutput.PushAsync(archive, "seed", RandomData.WriteFile(scratch["seed.img"], 100_000, 9)); // archive already in use
        string a = RandomData.WriteFile(scratch["a.img"], 12 << 20, 3), b = RandomData.WriteFile(scratch["b.img"], 12 << 20, 4);

        var results = await Task.WhenAll(CircularCli.RunAsync("push", archive, "os", a), CircularCli.RunAsync("push", archive, "os", b));

        foreach (var r in results) r.Ok();
        Assert.Equal([1, 2], results.Select(r => PushOutput.Parse(r).Version).Order());
        Assert.Equal([1, 2], RefsFile.Versions(archive, "os"));
        (await CircularCli.RunAsync("cat", archive, "os@1", "-o", scratch["c1"])).Ok();
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", scratch["c2"])).Ok();
        var outs = new[] { scratch["c1"], scratch["c2"] };
        Assert.True(outs.Any(o => Files.SameBytes(a, o)) && outs.Any(o => Files.SameBytes(b, o)), "a pushed image is missing");
        (await CircularCli.RunAsync("verify", archive)).Ok();
    }
}
