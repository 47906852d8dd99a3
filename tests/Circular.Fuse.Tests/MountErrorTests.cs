using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

public sealed class MountErrorTests
{
    private static Task<FuseMount> Mount(string path) =>
        FuseMount.MountAsync(FakeCatalog.WithRandomVersions(), path, new FuseMountOptions(), CancellationToken.None);

    [Fact]
    public async Task Missing_mountpoint_is_a_clear_error()
    {
        using var temp = new Scratch();
        var error = await Assert.ThrowsAsync<FuseMountException>(() => Mount(temp["absent"]));
        Assert.Contains("does not exist", error.Message);
        Assert.IsAssignableFrom<Circular.Core.Errors.CircularException>(error);
    }

    [Fact]
    public async Task A_file_is_not_a_mountpoint()
    {
        using var temp = new Scratch();
        string file = temp["file"];
        File.WriteAllText(file, "x");

        var error = await Assert.ThrowsAsync<FuseMountException>(() => Mount(file));
        Assert.Contains("not a directory", error.Message);
    }

    [Fact]
    public async Task Non_empty_directory_is_refused()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        File.WriteAllText(Path.Combine(mnt, "precious"), "x");

        var error = await Assert.ThrowsAsync<FuseMountException>(() => Mount(mnt));
        Assert.Contains("not empty", error.Message);
        Assert.Null(Mounts.TypeAt(mnt));
    }

    [Fact]
    public async Task Mounting_twice_on_the_same_directory_is_busy()
    {
        await using var m = await TestMount.StartAsync();

        var error = await Assert.ThrowsAsync<FuseMountException>(() => Mount(m.Root));
        Assert.Contains("busy", error.Message);
        Assert.Contains("EBUSY", error.Message);
        // The first mount is untouched.
        Assert.Equal(m.Catalog.Bytes(1), Timed.Bounded(() => File.ReadAllBytes(m.PathOf("os/1.img"))));
    }

    [Fact]
    public async Task A_directory_with_another_file_system_mounted_is_busy()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        Tools.Run("mount", "-t", "tmpfs", "none", mnt);
        try
        {
            var error = await Assert.ThrowsAsync<FuseMountException>(() => Mount(mnt));
            Assert.Contains("tmpfs", error.Message);
        }
        finally
        {
            Tools.Run("umount", mnt);
        }
    }

    [Fact]
    public async Task Relative_and_symlinked_mountpoints_resolve_to_the_real_directory()
    {
        using var temp = new Scratch();
        string real = temp.NewDir("real");
        string link = temp["link"];
        File.CreateSymbolicLink(link, real);

        await using var mount = await Mount(link).WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(real, mount.MountPoint);
        Assert.True(Mounts.IsFuse(real));
    }
}
