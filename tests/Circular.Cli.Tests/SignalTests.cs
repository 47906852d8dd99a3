using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// What the README promises for signals: a one-shot command stopped with Ctrl-C (SIGINT) or SIGHUP exits 130 with
/// "interrupted" and leaves the archive as it was; servers and mounts stopped with SIGHUP (a closed terminal) shut
/// down cleanly, exit 0.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Theory]
    [InlineData("INT")]
    [InlineData("HUP")]
    public async Task A_push_stopped_by_a_signal_exits_130_and_publishes_nothing(string signal)
    {
        string archive = await _s.InitArchiveAsync("archive-" + signal);
        string v1 = RandomData.WriteFile(_s["v1.img"], 1 << 20, 1);
        (await CircularCli.RunAsync("push", archive, "os", v1)).Ok();
        string big = _s["big.img"];
        File.WriteAllBytes(big, TestImages.TextBytes(48 << 20, 2)); // seconds of zlib 9 on one core
        int before = ArchiveChecks.CountChunkFiles(archive);
        var oneCore = new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "1" };
        await using (var push = CircularCli.Start(oneCore, "push", archive, "os", big, "--codec", "zlib", "--level", "9"))
        {
            // Signalled once it is storing chunks (mid-way, not before it started, whatever the machine's speed).
            await ArchiveChecks.WaitForChunkFilesAsync(archive, before + 8, push);
            Assert.False(push.HasExited, "the push ended before the signal: the test proves nothing\n" + push.Err);
            push.Signal(signal);
            Assert.Equal(130, await push.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("circular: interrupted", push.Err, StringComparison.Ordinal);
        }
        Assert.Equal([1], RefsFile.Versions(archive, "os"));
        Assert.Contains("all good", (await CircularCli.RunAsync("verify", archive)).Ok().Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nbd_and_mount_stopped_by_sighup_shut_down_cleanly()
    {
        string archive = await _s.InitArchiveAsync("archive-hup");
        (await CircularCli.RunAsync("push", archive, "os", RandomData.WriteFile(_s["os.img"], 1 << 20, 3))).Ok();
        string sock = _s["hup.sock"], mnt = _s.NewDir("hup-mnt");
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--cache", "none");
        await using var mount = await CircularCli.StartAsync("mounted on", "mount", archive, mnt, "--cache", "none");
        await nbd.StopAsync("HUP");
        Assert.False(File.Exists(sock), "the NBD socket was left behind");
        await mount.StopAsync("HUP");
        Assert.False(Mounts.IsMounted(mnt), "still mounted after SIGHUP");
    }
}
