using Circular.EndToEnd.Tests.Support;

namespace Circular.EndToEnd.Tests;

/// <summary>Issue 4, FUSE: `circular mount` as a process, image files loop-mounted, Ctrl-C, kill -9, bad mountpoints.</summary>
public sealed class FuseMountTests(Ext4Image img) : IClassFixture<Ext4Image>, IDisposable
{
    private readonly Scratch _s = new();
    private const string N = Ext4Image.Name;

    [Fact]
    public async Task Version_files_loop_mount_with_the_source_files_and_ctrl_c_unmounts_cleanly()
    {
        string mnt = _s.NewDir("mnt");
        await using var mount = await CircularCli.StartAsync("mounted on", "mount", img.Archive, mnt, "--cache", "none");

        string dir = Path.Combine(mnt, N);
        Assert.Equal(["1.img", "latest.img", $"{Ext4Image.Tag}.img"],
            Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray());
        foreach (var f in Directory.GetFiles(dir)) Assert.Equal(Ext4Image.Size, new FileInfo(f).Length);

        string loop = _s["loop"];
        Mounts.Loop(Path.Combine(dir, "1.img"), loop, writable: false);
        try
        {
            Assert.Equal(Files.Snapshot(img.Source), Files.Snapshot(loop));
        }
        finally
        {
            Mounts.Umount(loop);
        }
        Files.AssertSameBytes(img.Image, Path.Combine(dir, $"{Ext4Image.Tag}.img"));

        await mount.StopAsync("INT"); // Ctrl-C
        Assert.False(Mounts.IsMounted(mnt), "still mounted after Ctrl-C");
        Assert.Empty(Directory.GetFileSystemEntries(mnt)); // a plain empty directory again, not "Transport endpoint is not connected"
        Assert.Contains("unmounted", mount.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kill_9_leaves_no_dead_mount()
    {
        string mnt = _s.NewDir("mnt9");
        await using var mount = await CircularCli.StartAsync("mounted on", "mount", img.Archive, mnt, "--cache", "none");
        Assert.True(File.Exists(Path.Combine(mnt, N, "latest.img")));
        Assert.True(Mounts.IsMounted(mnt));

        mount.Signal("KILL");
        await mount.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await Mounts.WaitUnmountedAsync(mnt, TimeSpan.FromSeconds(5));
        Assert.Empty(Directory.GetFileSystemEntries(mnt)); // would throw ENOTCONN on a dead mount

        // The mountpoint is usable again straight away.
        await using var again = await CircularCli.StartAsync("mounted on", "mount", img.Archive, mnt, "--cache", "none");
        Assert.True(File.Exists(Path.Combine(mnt, N, "1.img")));
        await again.StopAsync("TERM");
        Assert.False(Mounts.IsMounted(mnt));
    }

    [Fact]
    public async Task Bad_mountpoints_get_a_clear_error()
    {
        string full = _s.NewDir("full");
        File.WriteAllText(Path.Combine(full, "keep.txt"), "mine");
        (await CircularCli.RunAsync("mount", img.Archive, full)).FailsWithOneLine("not empty");
        Assert.False(Mounts.IsMounted(full));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(full, "keep.txt")));

        (await CircularCli.RunAsync("mount", img.Archive, _s["missing"])).FailsWithOneLine("does not exist");

        string busy = _s.NewDir("busy");
        await using var first = await CircularCli.StartAsync("mounted on", "mount", img.Archive, busy, "--cache", "none");
        (await CircularCli.RunAsync("mount", img.Archive, busy)).FailsWithOneLine("busy");
        Assert.True(File.Exists(Path.Combine(busy, N, "latest.img")), "the first mount must keep working");
        await first.StopAsync("INT");
    }

    public void Dispose() => _s.Dispose();
}
