using Circular.EndToEnd.Tests.Support;

namespace Circular.EndToEnd.Tests;

/// <summary>Issue 4, writable mode: overlay writes through FUSE and NBD, restart, commit, and commit's bad input.</summary>
public sealed class OverlayCommitTests(Ext4Image img) : IClassFixture<Ext4Image>, IDisposable
{
    private readonly Scratch _s = new();
    private const string N = Ext4Image.Name;

    [Fact]
    public async Task Files_written_through_a_writable_mount_are_committed_as_a_new_version()
    {
        string archive = await img.NewArchiveAsync(_s["archive"]);
        string mnt = _s.NewDir("mnt"), ov = _s["overlay"], loop = _s["loop"];
        var newBin = new byte[1 << 20];
        new Random(5).NextBytes(newBin);

        await using (var mount = await CircularCli.StartAsync("mounted on", "mount", archive, mnt, "--writable", "--overlay", ov, "--cache", "none"))
        {
            Mounts.Loop(Path.Combine(mnt, N, "latest.img"), loop, writable: true);
            try
            {
                File.WriteAllText(Path.Combine(loop, "etc", "motd"), "version two\n");
                File.WriteAllText(Path.Combine(loop, "etc", "added.txt"), "added through the overlay\n");
                File.WriteAllBytes(Path.Combine(loop, "data", "new.bin"), newBin);
            }
            finally
            {
                Mounts.Umount(loop);
            }
            await mount.StopAsync("INT");
        }
        Assert.False(Mounts.IsMounted(mnt));
        Files.AssertSameBytes(img.Image, await CatAsync(archive, "1"));

        var commit = (await CircularCli.RunAsync("commit", archive, N, "--overlay", ov, "-m", "customised")).Ok();
        Assert.Contains($"committed {N} version 2", commit.Out, StringComparison.Ordinal);

        // Base + overlay as version 2, version 1 untouched, and only the changed blocks stored.
        string v2 = await CatAsync(archive, "2");
        Mounts.Loop(v2, loop, writable: false);
        try
        {
            Assert.Equal("version two\n", File.ReadAllText(Path.Combine(loop, "etc", "motd")));
            Assert.Equal("added through the overlay\n", File.ReadAllText(Path.Combine(loop, "etc", "added.txt")));
            Assert.Equal(newBin, File.ReadAllBytes(Path.Combine(loop, "data", "new.bin")));
            Assert.Equal(File.ReadAllBytes(Path.Combine(img.Source, "data", "random.bin")), File.ReadAllBytes(Path.Combine(loop, "data", "random.bin")));
        }
        finally
        {
            Mounts.Umount(loop);
        }
        Files.AssertSameBytes(img.Image, await CatAsync(archive, "1"));
        var v2Entry = Refs.Version(archive, N, 2);
        Assert.Equal("customised", v2Entry.GetProperty("message").GetString());
        long added = v2Entry.GetProperty("addedChunks").GetInt64();
        long v1Chunks = Refs.Version(archive, N, 1).GetProperty("addedChunks").GetInt64();
        Assert.True(added is > 0 and <= 16 && added < v1Chunks, $"commit stored {added} chunks (version 1 has {v1Chunks}); only the changed blocks should be new");
        Assert.False(Directory.Exists(Path.Combine(ov, N)), "the committed overlay should be removed");
    }

    [Fact]
    public async Task Nbd_overlay_survives_a_restart_and_commits_only_the_written_blocks()
    {
        string archive = await img.NewArchiveAsync(_s["archive"]);
        string ov = _s["overlay"];
        string host = $"127.0.0.1:{Ports.Free()}";
        string[] serve = ["nbd", archive, "--listen", host, "--writable", "--overlay", ov, "--cache", "none"];

        await using (var nbd = await CircularCli.StartAsync("serving", serve))
        {
            Tools.Run("qemu-io", "-f", "raw", "-c", "write -P 0xab 8M 64k", "-c", "write -P 0xcd 100k 3k", "-c", "flush", $"nbd://{host}/{N}");
            // Every version is still listed and readable on a writable server.
            var list = Tools.Run("nbdinfo", "--list", $"nbd://{host}");
            Assert.Contains($"export=\"{N}@{Ext4Image.Tag}\"", list, StringComparison.Ordinal);
            await nbd.StopAsync("TERM");
        }

        await using (var nbd = await CircularCli.StartAsync("serving", serve))
        {
            Tools.Try("qemu-io", "-r", "-f", "raw", "-c", "read -P 0xab 8M 64k", "-c", "read -P 0xcd 100k 3k", $"nbd://{host}/{N}").PatternsMatch();
            Tools.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd://{host}/{N}", _s["served.img"]);
            await nbd.StopAsync("TERM");
        }
        string expected = _s["expected.img"];
        File.Copy(img.Image, expected);
        using (var h = File.OpenHandle(expected, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(h, Enumerable.Repeat((byte)0xab, 64 << 10).ToArray(), 8L << 20);
            RandomAccess.Write(h, Enumerable.Repeat((byte)0xcd, 3 << 10).ToArray(), 100L << 10);
        }
        Files.AssertSameBytes(expected, _s["served.img"]);

        (await CircularCli.RunAsync("commit", archive, N, "--overlay", ov, "--message", "patched")).Ok();
        Files.AssertSameBytes(expected, await CatAsync(archive, "2"));
        Files.AssertSameBytes(img.Image, await CatAsync(archive, "1"));
        Assert.Equal(2, Refs.Version(archive, N, 2).GetProperty("addedChunks").GetInt64()); // two 256 KiB blocks touched

        // With two versions, a writable server still lists and serves the one its overlay is not on (read-only).
        await using (var nbd = await CircularCli.StartAsync("serving", serve))
        {
            Tools.Run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 4k", $"nbd://{host}/{N}");
            var list = Tools.Run("nbdinfo", "--list", $"nbd://{host}");
            Assert.Contains($"export=\"{N}@1\"", list, StringComparison.Ordinal);
            Tools.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd://{host}/{N}@1", _s["old.img"]);
            Files.AssertSameBytes(img.Image, _s["old.img"]);
            Assert.NotEqual(0, Tools.Try("qemu-io", "-f", "raw", "-c", "write -P 0x22 0 4k", $"nbd://{host}/{N}@1").Code);
            await nbd.StopAsync("TERM");
        }
    }

    [Fact]
    public async Task Writes_flushed_before_a_kill_9_survive_it_and_commit()
    {
        string archive = await img.NewArchiveAsync(_s["archive-k9"]);
        string ov = _s["overlay-k9"];
        string host = $"127.0.0.1:{Ports.Free()}";
        string[] serve = ["nbd", archive, "--listen", host, "--writable", "--overlay", ov, "--cache", "none"];
        await using (var nbd = await CircularCli.StartAsync("serving", serve))
        {
            Tools.Run("qemu-io", "-f", "raw", "-c", "write -P 0x5e 4M 128k", "-c", "flush", $"nbd://{host}/{N}");
            nbd.Signal("KILL");
            await nbd.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        // The lock died with the process: a new server opens the overlay at once, with the flushed writes in it.
        await using (var nbd = await CircularCli.StartAsync("serving", serve))
        {
            Tools.Try("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x5e 4M 128k", $"nbd://{host}/{N}").PatternsMatch();
            await nbd.StopAsync("TERM");
        }
        (await CircularCli.RunAsync("commit", archive, N, "--overlay", ov)).Ok();
        string expected = _s["expected-k9.img"];
        File.Copy(img.Image, expected);
        using (var h = File.OpenHandle(expected, FileMode.Open, FileAccess.Write))
            RandomAccess.Write(h, Enumerable.Repeat((byte)0x5e, 128 << 10).ToArray(), 4L << 20);
        Files.AssertSameBytes(expected, await CatAsync(archive, "2"));
    }

    [Fact]
    public async Task Commit_without_changes_fails_with_one_line()
    {
        string archive = img.Archive;
        (await CircularCli.RunAsync("commit", archive, N, "--overlay", _s["nothing-here"])).FailsWithOneLine("no overlay");
        string empty = _s.NewDir("empty");
        Directory.CreateDirectory(Path.Combine(empty, N));
        (await CircularCli.RunAsync("commit", archive, N, "--overlay", empty)).FailsWithOneLine("no overlay");

        // A writable session that only read leaves nothing to commit.
        string ov = _s["read-only-session"];
        string host = $"127.0.0.1:{Ports.Free()}";
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--listen", host, "--writable", "--overlay", ov, "--cache", "none"))
        {
            Tools.Run("qemu-io", "-f", "raw", "-c", "read 0 64k", $"nbd://{host}/{N}");
            await nbd.StopAsync("TERM");
        }
        var r = await CircularCli.RunAsync("commit", archive, N, "--overlay", ov);
        r.FailsWithOneLine(r.Err.Contains("no overlay", StringComparison.Ordinal) ? "no overlay" : "no changes");
        Assert.Equal([1], Refs.Versions(archive, N)); // nothing was published
    }

    private async Task<string> CatAsync(string archive, string version)
    {
        string path = _s[$"cat-{Path.GetFileName(archive)}-{version}.img"];
        (await CircularCli.RunAsync("cat", archive, $"{N}@{version}", "-o", path)).Ok();
        return path;
    }

    public void Dispose() => _s.Dispose();
}
