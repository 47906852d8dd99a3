using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

public sealed class UnmountTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task UnmountAsync_completes_and_leaves_a_usable_directory()
    {
        await using var m = await TestMount.StartAsync();
        Assert.True(File.Exists(m.PathOf("os/1.img")));

        await m.Mount.UnmountAsync().WaitAsync(Timeout);

        Assert.True(m.Mount.Completion.IsCompletedSuccessfully);
        Assert.Null(Mounts.TypeAt(m.Root));
        Assert.Empty(Directory.EnumerateFileSystemEntries(m.Root));
        await m.Mount.UnmountAsync().WaitAsync(Timeout); // idempotent
    }

    [Theory]
    [InlineData("umount")]
    [InlineData("fusermount3")]
    public async Task External_unmount_completes_the_mount(string tool)
    {
        await using var m = await TestMount.StartAsync();
        Timed.Bounded(() => File.ReadAllBytes(m.PathOf("os/1.img")));

        if (tool == "umount") Tools.Run("umount", m.Root);
        else Tools.Run("fusermount3", "-u", m.Root);

        await m.Mount.Completion.WaitAsync(Timeout);
        Assert.Null(Mounts.TypeAt(m.Root));
        Timed.WaitUntil(() => m.Catalog.OpenImages == 0, Timeout, "images to be disposed");
    }

    [Fact]
    public async Task Unmount_while_a_file_is_open_detaches_then_cuts_off_the_straggler()
    {
        await using var m = await TestMount.StartAsync();
        var open = Timed.Bounded(() => File.OpenRead(m.PathOf("os/1.img")));
        try
        {
            await m.Mount.UnmountAsync().WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Null(Mounts.TypeAt(m.Root));
            Assert.Equal(0, m.Catalog.OpenImages); // released by the server, not leaked
        }
        finally
        {
            open.Dispose();
        }
    }

    [Fact]
    public async Task Dispose_unmounts()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        var catalog = FakeCatalog.WithRandomVersions();

        await using (var mount = await FuseMount.MountAsync(catalog, mnt, new FuseMountOptions(), CancellationToken.None).WaitAsync(Timeout))
        {
            Assert.True(Mounts.IsFuse(mnt));
        }

        Assert.Null(Mounts.TypeAt(mnt));
    }

    [Fact]
    public async Task A_mountpoint_can_be_reused_after_unmount()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        var catalog = FakeCatalog.WithRandomVersions();

        for (int i = 0; i < 3; i++)
        {
            await using var mount = await FuseMount.MountAsync(catalog, mnt, new FuseMountOptions(), CancellationToken.None).WaitAsync(Timeout);
            Assert.Equal(catalog.Bytes(2), Timed.Bounded(() => File.ReadAllBytes(Path.Combine(mnt, "os/latest.img"))));
        }
        Assert.Null(Mounts.TypeAt(mnt));
    }
}
