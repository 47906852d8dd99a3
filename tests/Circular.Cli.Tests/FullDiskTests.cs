using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// The archive, the client cache and an overlay each on a small loop-mounted ext4 that fills up: a clear error, no
/// corrupt chunk stored or served, nothing earlier lost, and everything works again once space is freed.
/// </summary>
public sealed class FullDiskTests : IDisposable
{
    private const int Block = 64 * 1024;
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose(); // unmounts the file systems too

    /// <summary>A 32 MiB ext4 on a loop device, most of it taken by a filler file that <see cref="Free"/> deletes.</summary>
    private string SmallDisk(string name, int fillerMiB)
    {
        string image = _s[name + ".ext4"], dir = _s[name];
        Tools.Run("truncate", "-s", "32M", image);
        Tools.Run("mkfs.ext4", "-q", "-F", "-m", "0", image);
        Mounts.Loop(image, dir, writable: true);
        Tools.Run("fallocate", "-l", $"{fillerMiB}M", Path.Combine(dir, "filler"));
        return dir;
    }

    private static void Free(string disk) => File.Delete(Path.Combine(disk, "filler"));

    [Fact]
    public async Task A_push_that_fills_the_archive_disk_fails_in_one_line_keeps_every_version_and_completes_once_space_is_freed()
    {
        string disk = SmallDisk("archive-disk", 20);
        string archive = Path.Combine(disk, "archive");
        (await CircularCli.RunAsync("init", archive)).Ok();
        string v1 = RandomData.WriteFile(_s["v1.img"], 2 << 20, 1), big = RandomData.WriteFile(_s["big.img"], 12 << 20, 2);
        (await CircularCli.RunAsync("push", archive, "os", v1, "--chunk-size", "64K")).Ok();

        var full = await CircularCli.RunAsync("push", archive, "os", big, "--chunk-size", "64K");
        Assert.Equal(1, full.Code);
        Assert.Contains("No space left on device", Assert.Single(full.ErrLines));
        Assert.Equal([1], RefsFile.Versions(archive, "os"));
        await ArchiveChecks.VerifyCleanAsync(archive);
        (await CircularCli.RunAsync("cat", archive, "os@1", "-o", _s["v1.out"])).Ok();
        Files.AssertSameBytes(v1, _s["v1.out"]);

        Free(disk);
        var rerun = PushOutput.Parse((await CircularCli.RunAsync("push", archive, "os", big, "--chunk-size", "64K")).Ok());
        Assert.Equal(2, rerun.Version);
        Assert.True(rerun.Reused > 0, "the re-run stored again what the failed push had written");
        await ArchiveChecks.VerifyCleanAsync(archive);
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", _s["big.out"])).Ok();
        Files.AssertSameBytes(big, _s["big.out"]);
    }

    [Fact]
    public async Task A_full_cache_disk_never_fails_a_read_and_the_cache_works_again_once_space_is_freed()
    {
        string archive = await _s.InitArchiveAsync("archive-for-cache");
        string image = RandomData.WriteFile(_s["cached.img"], 8 << 20, 3);
        (await CircularCli.RunAsync("push", archive, "os", image, "--chunk-size", "64K")).Ok();
        string disk = SmallDisk("cache-disk", 24);
        string cache = Path.Combine(disk, "cache");
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            var first = (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out1"], "--cache", cache)).Ok();
            Files.AssertSameBytes(image, _s["out1"]);
            Assert.Contains(first.ErrLines, l => l.Contains("No space left on device", StringComparison.Ordinal));

            Free(disk);
            var second = (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out2"], "--cache", cache)).Ok();
            Files.AssertSameBytes(image, _s["out2"]);
            Assert.DoesNotContain(second.ErrLines, l => l.Contains("cache", StringComparison.Ordinal));
        }
        // The server is gone: everything now comes from the cache, which holds only verified, whole chunks.
        var offline = (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out3"], "--cache", cache)).Ok();
        Files.AssertSameBytes(image, _s["out3"]);
    }

    [Fact]
    public async Task A_full_overlay_disk_fails_the_write_not_the_server_and_writes_succeed_once_space_is_freed()
    {
        string archive = await _s.InitArchiveAsync("archive-for-overlay");
        string image = RandomData.WriteFile(_s["base.img"], 16 << 20, 5);
        (await CircularCli.RunAsync("push", archive, "os", image, "--chunk-size", "64K")).Ok();
        string disk = SmallDisk("overlay-disk", 20);
        string overlay = Path.Combine(disk, "overlay"), sock = _s["ov.sock"];
        string uri = $"nbd+unix:///os?socket={sock}";
        await using (var nbd = CircularCli.Start("nbd", archive, "--socket", sock, "--writable", "--overlay", overlay, "--cache", "none"))
        {
            await nbd.WaitForOutputAsync("serving", TimeSpan.FromSeconds(30));
            // 1 MiB fits; 14 MiB more does not.
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", $"write -P 0x5a 0 {1 << 20}", "-c", "flush", uri)).Ok();
            var tooMuch = await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", $"write -P 0x6b {2 << 20} {14 << 20}", "-c", "flush", uri);
            Assert.Contains("No space left on device", tooMuch.Out + tooMuch.Err);
            Assert.False(nbd.HasExited, "the server stopped when its overlay disk filled up\n" + nbd.Err);
            // What was written before is still there; the rest still reads as the base version.
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-r", "-f", "raw", "-c", $"read -P 0x5a 0 {1 << 20}", uri)).PatternsMatch();

            Free(disk);
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", $"write -P 0x6b {2 << 20} {4 << 20}", "-c", "flush", uri)).Ok();
            await nbd.StopAsync("TERM");
        }
        (await CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay)).Ok();
        byte[] expected = File.ReadAllBytes(image);
        Array.Fill(expected, (byte)0x5a, 0, 1 << 20);
        Array.Fill(expected, (byte)0x6b, 2 << 20, 4 << 20);
        // A write that failed for want of space may have landed in part before it failed; nothing outside it changed.
        byte[] committed = await ReadVersionAsync(archive, "os@2");
        Assert.Equal(expected.Length, committed.Length);
        Assert.True(committed.AsSpan(0, 6 << 20).SequenceEqual(expected.AsSpan(0, 6 << 20)), "the written regions are not what was written");
        for (long b = (6 << 20) / Block; b < committed.Length / Block; b++)
        {
            var got = committed.AsSpan((int)(b * Block), Block);
            Assert.True(got.SequenceEqual(expected.AsSpan((int)(b * Block), Block)) || got.IndexOfAnyExcept((byte)0x6b) < 0,
                $"block {b} holds neither the base nor the failed write");
        }
        await ArchiveChecks.VerifyCleanAsync(archive);
    }

    private async Task<byte[]> ReadVersionAsync(string archive, string spec)
    {
        string output = _s["read-" + spec.Replace('@', '-')];
        (await CircularCli.RunAsync("cat", archive, spec, "-o", output)).Ok();
        return File.ReadAllBytes(output);
    }
}
