using System.Security.Cryptography;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// `gc` run again and again while `push`, `commit` and `optimize` write to the same archive (docs/format.md, "Writers
/// and locks"): it never deletes a chunk a concurrent writer is about to reference, so every version published meanwhile
/// reads byte-exact and `verify` is clean, and the garbage that was there before is gone.
/// </summary>
public sealed class GcConcurrencyTests : IDisposable
{
    private const int Block = 64 * 1024;
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private static string Sha(byte[] data) => Convert.ToHexString(SHA256.HashData(data));

    private async Task<string> ReadShaAsync(string archive, string spec)
    {
        string output = _s["read-" + Guid.NewGuid().ToString("N")];
        (await CircularCli.RunAsync("cat", archive, spec, "-o", output, "--cache", "none")).Ok();
        return Sha(File.ReadAllBytes(output));
    }

    [Fact]
    public async Task Gc_in_a_loop_beside_push_commit_and_optimize_loses_nothing_they_publish()
    {
        string archive = await _s.InitArchiveAsync("archive");
        byte[] v1 = TestImages.TextBytes(8 << 20, 70);
        File.WriteAllBytes(_s["v1.img"], v1);
        (await CircularCli.RunAsync("push", archive, "os", _s["v1.img"], "--chunk-size", "64K")).Ok();

        // An overlay on v1 (written through NBD) and a profile of v1, for the commit and the optimize.
        string overlay = _s["overlay"], sock = _s["gc.sock"], profile = _s["v1.profile"];
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--writable", "--overlay", overlay,
            "--cache", "none", "--record-profile", profile))
        {
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", $"read 0 {1 << 20}", "-c", $"read {4 << 20} {1 << 20}",
                "-c", $"write -P 0x42 {2 << 20} {4 * Block}", "-c", "flush", $"nbd+unix:///os?socket={sock}")).PatternsMatch();
            await nbd.StopAsync("TERM");
        }
        (await CircularCli.RunAsync("profile", "push", archive, "os", profile)).Ok();
        byte[] committed = (byte[])v1.Clone();
        Array.Fill(committed, (byte)0x42, 2 << 20, 4 * Block);

        // Garbage: chunks no version references.
        string junk = await _s.InitArchiveAsync("junk");
        (await CircularCli.RunAsync("push", junk, "junk", RandomData.WriteFile(_s["junk.img"], 4 << 20, 71), "--chunk-size", "64K")).Ok();
        Scratch.CopyDirectory(Path.Combine(junk, "chunks"), Path.Combine(archive, "chunks"));

        var expected = new Dictionary<string, string> { ["os@1"] = Sha(v1) };
        byte[] v2 = TestImages.TextBytes(8 << 20, 72);
        File.WriteAllBytes(_s["v2.img"], v2);
        using var stop = new CancellationTokenSource();
        int gcRuns = 0;
        var gcLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                (await CircularCli.RunAsync("gc", archive)).Ok();
                gcRuns++;
            }
        });
        var writers = new[]
        {
            CircularCli.RunAsync("push", archive, "os", _s["v2.img"], "--chunk-size", "64K", "--codec", "zlib", "--level", "9"),
            CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay),
            CircularCli.RunAsync("optimize", archive, "os@1", "--level", "19", "--pack-size", "256K"),
        };
        var results = await Task.WhenAll(writers);
        await stop.CancelAsync();
        await gcLoop;
        foreach (var r in results) r.Ok();
        Assert.True(gcRuns >= 1, "gc never ran beside the writers: the test proves nothing"); // it waits for their shared lock

        // push and commit each published one version (in either order).
        int[] versions = RefsFile.Versions(archive, "os");
        Assert.Equal([1, 2, 3], versions);
        var published = new[] { await ReadShaAsync(archive, "os@2"), await ReadShaAsync(archive, "os@3") };
        Assert.Equal(new[] { Sha(v2), Sha(committed) }.Order(), published.Order());
        Assert.Equal(expected["os@1"], await ReadShaAsync(archive, "os@1")); // through its packs
        await ArchiveChecks.VerifyCleanAsync(archive);
        (await CircularCli.RunAsync("gc", archive)).Ok();
        Assert.False(File.Exists(Path.Combine(archive, Path.GetRelativePath(junk, Directory.EnumerateFiles(Path.Combine(junk, "chunks"), "*", SearchOption.AllDirectories).First()))),
            "gc left the garbage");
    }
}
