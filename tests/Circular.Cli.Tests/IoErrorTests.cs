using System.Net;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// The archive, the client cache and an overlay each on a disk that fails with EIO on command (<see cref="FailingDisk"/>):
/// one clear error line, no corrupt chunk stored or served, nothing earlier lost, and everything works again once the
/// disk does.
/// </summary>
public sealed class IoErrorTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private static void AssertOneIoErrorLine(RunResult r)
    {
        Assert.True(r.Code == 1, $"expected exit 1:\n{r}");
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        Assert.Contains("Input/output error", Assert.Single(r.ErrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_push_whose_archive_disk_fails_writes_fails_in_one_line_keeps_every_version_and_completes_once_the_disk_works()
    {
        await using var disk = await FailingDisk.MountAsync(_s.NewDir("archive-disk"));
        string archive = Path.Combine(disk.Path, "archive");
        (await CircularCli.RunAsync("init", archive)).Ok();
        string v1 = RandomData.WriteFile(_s["v1.img"], 2 << 20, 1), v2 = RandomData.WriteFile(_s["v2.img"], 4 << 20, 2);
        (await CircularCli.RunAsync("push", archive, "os", v1, "--chunk-size", "64K")).Ok();

        disk.Fail(DiskFault.Writes);
        AssertOneIoErrorLine(await CircularCli.RunAsync("push", archive, "os", v2, "--chunk-size", "64K"));
        disk.Fail(DiskFault.None);
        Assert.Equal([1], RefsFile.Versions(archive, "os"));
        await ArchiveChecks.VerifyCleanAsync(archive);
        (await CircularCli.RunAsync("cat", archive, "os@1", "-o", _s["v1.out"])).Ok();
        Files.AssertSameBytes(v1, _s["v1.out"]);

        Assert.Equal(2, PushOutput.Parse((await CircularCli.RunAsync("push", archive, "os", v2, "--chunk-size", "64K")).Ok()).Version);
        await ArchiveChecks.VerifyCleanAsync(archive);
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", _s["v2.out"])).Ok();
        Files.AssertSameBytes(v2, _s["v2.out"]);
    }

    [Fact]
    public async Task An_archive_disk_that_fails_reads_fails_cat_in_one_line_and_serve_never_answers_200()
    {
        await using var disk = await FailingDisk.MountAsync(_s.NewDir("read-disk"));
        string archive = Path.Combine(disk.Path, "archive");
        (await CircularCli.RunAsync("init", archive)).Ok();
        string image = RandomData.WriteFile(_s["r.img"], 2 << 20, 3);
        (await CircularCli.RunAsync("push", archive, "os", image, "--chunk-size", "64K")).Ok();
        string chunk = Path.GetRelativePath(archive, Directory.EnumerateFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories).First());

        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            disk.Fail(DiskFault.Reads);
            AssertOneIoErrorLine(await CircularCli.RunAsync("cat", archive, "os", "-o", _s["r.out"], "--cache", "none"));
            Assert.Empty(Directory.GetFiles(_s.Dir, "r.out*"));
            using var http = new HttpClient();
            using (var resp = await http.GetAsync(new Uri(url, chunk.Replace('\\', '/'))))
                Assert.Equal(HttpStatusCode.InternalServerError, resp.StatusCode);
            Assert.False(server.HasExited, "serve died with the read");

            disk.Fail(DiskFault.None);
            (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["r.out"], "--cache", "none")).Ok();
            Files.AssertSameBytes(image, _s["r.out"]);
        }
    }

    [Fact]
    public async Task A_failing_cache_disk_never_fails_a_read_and_the_cache_works_again_once_the_disk_does()
    {
        string archive = await _s.InitArchiveAsync("archive-for-cache");
        string image = RandomData.WriteFile(_s["cached.img"], 4 << 20, 4);
        (await CircularCli.RunAsync("push", archive, "os", image, "--chunk-size", "64K")).Ok();
        await using var disk = await FailingDisk.MountAsync(_s.NewDir("cache-disk"));
        string cache = Path.Combine(disk.Path, "cache");
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            // A cache that once worked, then fails both ways: reads come from the server, byte-exact.
            (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out0"], "--cache", cache)).Ok();
            disk.Fail(DiskFault.All);
            var first = (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out1"], "--cache", cache)).Ok();
            Files.AssertSameBytes(image, _s["out1"]);
            Assert.Contains(first.ErrLines, l => l.Contains("Input/output error", StringComparison.Ordinal));

            disk.Fail(DiskFault.None);
            (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out2"], "--cache", cache)).Ok();
            Files.AssertSameBytes(image, _s["out2"]);
        }
        // The server is gone: everything now comes from the cache, which holds only verified, whole chunks.
        (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out3"], "--cache", cache)).Ok();
        Files.AssertSameBytes(image, _s["out3"]);
    }

    [Fact]
    public async Task A_failing_overlay_disk_fails_the_write_not_the_server_and_writes_succeed_once_the_disk_works()
    {
        string archive = await _s.InitArchiveAsync("archive-for-overlay");
        string image = RandomData.WriteFile(_s["base.img"], 4 << 20, 5);
        (await CircularCli.RunAsync("push", archive, "os", image, "--chunk-size", "64K")).Ok();
        await using var disk = await FailingDisk.MountAsync(_s.NewDir("overlay-disk"));
        string overlay = Path.Combine(disk.Path, "overlay"), sock = _s["ov.sock"];
        string uri = $"nbd+unix:///os?socket={sock}";
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--writable", "--overlay", overlay, "--cache", "none"))
        {
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 65536", "-c", "flush", uri)).Ok();
            disk.Fail(DiskFault.Writes);
            var failed = await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", "write -P 0x6b 1048576 65536", "-c", "flush", uri);
            Assert.Contains("Input/output error", failed.Out + failed.Err, StringComparison.Ordinal);
            Assert.False(nbd.HasExited, "the server stopped when its overlay disk failed\n" + nbd.Err);
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-r", "-f", "raw", "-c", "read -P 0x5a 0 65536", uri)).PatternsMatch();

            disk.Fail(DiskFault.None);
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", "write -P 0x6b 1048576 65536", "-c", "flush", uri)).Ok();
            await nbd.StopAsync("TERM");
        }
        (await CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay)).Ok();
        byte[] expected = File.ReadAllBytes(image);
        Array.Fill(expected, (byte)0x5a, 0, 65536);
        Array.Fill(expected, (byte)0x6b, 1 << 20, 65536);
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", _s["committed"])).Ok();
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(_s["committed"])), "the committed version is not base + the writes");
        await ArchiveChecks.VerifyCleanAsync(archive);
    }
}
