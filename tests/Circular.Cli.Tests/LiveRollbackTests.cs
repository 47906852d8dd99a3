using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// A rollback (and roll forward) while `serve`, `nbd` and `mount` run: what they open afterwards follows the new
/// `latest`, while every version stays readable by number.
/// </summary>
public sealed class LiveRollbackTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private static bool Same(byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b);

    [Fact]
    public async Task Serve_nbd_and_mount_follow_a_rollback_and_a_roll_forward_without_a_restart()
    {
        string archive = await _s.InitArchiveAsync("archive");
        var versions = new Dictionary<int, byte[]>();
        for (int v = 1; v <= 2; v++)
        {
            string path = RandomData.WriteFile(_s[$"v{v}.img"], 1 << 20, 60 + v);
            versions[v] = File.ReadAllBytes(path);
            (await CircularCli.RunAsync("push", archive, "os", path)).Ok();
        }
        string sock = _s["live.sock"], mnt = _s.NewDir("live-mnt");
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", url.ToString(), "--socket", sock, "--cache", "none"))
        await using (var mount = await CircularCli.StartAsync("mounted on", "mount", url.ToString(), mnt, "--cache", "none"))
        {
            // Long-running readers answer repeated metadata reads from memory for up to 5 s (docs/cache.md), so they
            // follow within seconds; each is given 15.
            async Task EventuallyAsync(Func<Task<byte[]>> read, int expected, string what)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!Same(versions[expected], await read()))
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"{what} does not read v{expected} after 15 s");
                    await Task.Delay(250);
                }
            }
            async Task AssertLatestAsync(int expected)
            {
                await EventuallyAsync(async () =>
                {
                    string output = _s[$"serve-{Guid.NewGuid():N}"];
                    (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", output, "--cache", "none")).Ok();
                    return File.ReadAllBytes(output);
                }, expected, "cat through serve");
                await EventuallyAsync(async () =>
                {
                    string output = _s[$"nbd-{Guid.NewGuid():N}"];
                    (await Tools.TryAsync("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd+unix:///os?socket={sock}", output)).Ok();
                    return File.ReadAllBytes(output);
                }, expected, "a new NBD connection");
                await EventuallyAsync(() => Task.FromResult(File.ReadAllBytes(Path.Combine(mnt, "os", "latest.img"))), expected, "the mount's latest.img");
                foreach (var (v, bytes) in versions)
                    Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(mnt, "os", $"{v}.img"))), $"{v}.img changed");
            }
            await AssertLatestAsync(2);
            (await CircularCli.RunAsync("rollback", archive, "os", "1")).Ok();
            await AssertLatestAsync(1);
            (await CircularCli.RunAsync("rollback", archive, "os", "2")).Ok();
            await AssertLatestAsync(2);
            await mount.StopAsync("TERM");
            await nbd.StopAsync("TERM");
        }
    }
}
