using System.Text;
using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

/// <summary>The real use: a file system image served through FUSE and loop-mounted by the kernel.</summary>
public sealed class Ext4LoopTests
{
    private const string Content = "hello from inside an ext4 image served over FUSE\n";

    [Fact]
    public async Task Read_only_loop_mount_of_a_fuse_file_shows_the_files_inside()
    {
        var image = MakeExt4();
        await using var m = await TestMount.StartAsync(new FakeCatalog(image, image.ToArray()));
        string inner = m.Temp.NewDir("inner");

        Tools.Run("mount", "-o", "loop,ro", m.PathOf("os/1.img"), inner);
        try
        {
            Assert.Equal(Content, Timed.Bounded(() => File.ReadAllText(Path.Combine(inner, "dir/hello.txt"))));
            Assert.Equal(RandomData.Bytes(200_000, 5), Timed.Bounded(() => File.ReadAllBytes(Path.Combine(inner, "random.bin"))));
        }
        finally
        {
            Tools.Run("umount", inner);
        }
    }

    [Fact]
    public async Task Writable_loop_mount_changes_the_backing_image()
    {
        var image = MakeExt4();
        await using var m = await TestMount.StartAsync(new FakeCatalog(image.ToArray(), image, version2Writable: true), writable: true);
        string inner = m.Temp.NewDir("inner");

        Tools.Run("mount", "-o", "loop", m.PathOf("os/2.img"), inner);
        try
        {
            Timed.Bounded(() => File.WriteAllText(Path.Combine(inner, "written.txt"), "written through FUSE\n"));
        }
        finally
        {
            Tools.Run("umount", inner);
        }

        // Check the bytes the catalog holds, not the mount: dump them and read the file with debugfs.
        string dump = m.Temp["dump.img"];
        File.WriteAllBytes(dump, m.Catalog.Bytes(2));
        Assert.Equal("written through FUSE\n", Tools.Run("debugfs", "-R", "cat /written.txt", dump));
        Assert.Equal(Content, Tools.Run("debugfs", "-R", "cat /dir/hello.txt", dump));
        Tools.Run("e2fsck", "-fn", dump);
    }

    [Fact]
    public async Task Read_only_version_cannot_be_loop_mounted_read_write()
    {
        var image = MakeExt4();
        await using var m = await TestMount.StartAsync(new FakeCatalog(image, image.ToArray()), writable: true);
        string inner = m.Temp.NewDir("inner");
        var before = image.ToArray();

        // util-linux falls back to a read-only loop when the file cannot be opened for writing: accept either
        // a refusal or a read-only mount, but never a changed image.
        var mount = Tools.Try("mount", "-o", "loop", m.PathOf("os/1.img"), inner);
        if (mount.Code == 0)
        {
            try
            {
                Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(inner, "x.txt"), "x"));
            }
            finally
            {
                Tools.Run("umount", inner);
            }
        }
        Assert.Equal(before, image);
    }

    /// <summary>A 32 MiB ext4 image built with mkfs.ext4 -d from a small tree.</summary>
    private static byte[] MakeExt4()
    {
        using var temp = new Scratch();
        string tree = temp.NewDir("tree");
        Directory.CreateDirectory(Path.Combine(tree, "dir"));
        File.WriteAllText(Path.Combine(tree, "dir/hello.txt"), Content, Encoding.UTF8);
        File.WriteAllBytes(Path.Combine(tree, "random.bin"), RandomData.Bytes(200_000, 5));
        string image = temp["fs.img"];
        Tools.Run("truncate", "-s", "32M", image);
        Tools.Run("mkfs.ext4", "-q", "-F", "-d", tree, image);
        return File.ReadAllBytes(image);
    }
}
