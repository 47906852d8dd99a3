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
        string inner = m.Temp.Sub("inner");

        Shell.Run("mount", "-o", "loop,ro", m.PathOf("os/1.img"), inner).Ok("mount -o loop,ro");
        try
        {
            Assert.Equal(Content, Shell.Bounded(() => File.ReadAllText(Path.Combine(inner, "dir/hello.txt"))));
            Assert.Equal(TestData.Random(5, 200_000), Shell.Bounded(() => File.ReadAllBytes(Path.Combine(inner, "random.bin"))));
        }
        finally
        {
            Shell.Run("umount", inner).Ok("umount inner");
        }
    }

    [Fact]
    public async Task Writable_loop_mount_changes_the_backing_image()
    {
        var image = MakeExt4();
        await using var m = await TestMount.StartAsync(new FakeCatalog(image.ToArray(), image, version2Writable: true), writable: true);
        string inner = m.Temp.Sub("inner");

        Shell.Run("mount", "-o", "loop", m.PathOf("os/2.img"), inner).Ok("mount -o loop");
        try
        {
            Shell.Bounded(() => File.WriteAllText(Path.Combine(inner, "written.txt"), "written through FUSE\n"));
        }
        finally
        {
            Shell.Run("umount", inner).Ok("umount inner");
        }

        // Check the bytes the catalog holds, not the mount: dump them and read the file with debugfs.
        string dump = Path.Combine(m.Temp.Path, "dump.img");
        File.WriteAllBytes(dump, m.Catalog.Bytes(2));
        Assert.Equal("written through FUSE\n", Shell.Run("debugfs", "-R", "cat /written.txt", dump).Ok("debugfs").Stdout);
        Assert.Equal(Content, Shell.Run("debugfs", "-R", "cat /dir/hello.txt", dump).Ok("debugfs").Stdout);
        Shell.Run("e2fsck", "-fn", dump).Ok("e2fsck");
    }

    [Fact]
    public async Task Read_only_version_cannot_be_loop_mounted_read_write()
    {
        var image = MakeExt4();
        await using var m = await TestMount.StartAsync(new FakeCatalog(image, image.ToArray()), writable: true);
        string inner = m.Temp.Sub("inner");
        var before = image.ToArray();

        // util-linux falls back to a read-only loop when the file cannot be opened for writing: accept either
        // a refusal or a read-only mount, but never a changed image.
        var mount = Shell.Run("mount", "-o", "loop", m.PathOf("os/1.img"), inner);
        if (mount.ExitCode == 0)
        {
            try
            {
                Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(inner, "x.txt"), "x"));
            }
            finally
            {
                Shell.Run("umount", inner).Ok("umount inner");
            }
        }
        Assert.Equal(before, image);
    }

    /// <summary>A 32 MiB ext4 image built with mkfs.ext4 -d from a small tree.</summary>
    private static byte[] MakeExt4()
    {
        using var temp = new TempDirectory("circular-ext4-");
        string tree = temp.Sub("tree");
        Directory.CreateDirectory(Path.Combine(tree, "dir"));
        File.WriteAllText(Path.Combine(tree, "dir/hello.txt"), Content, Encoding.UTF8);
        File.WriteAllBytes(Path.Combine(tree, "random.bin"), TestData.Random(5, 200_000));
        string image = Path.Combine(temp.Path, "fs.img");
        Shell.Run("truncate", "-s", "32M", image).Ok("truncate");
        Shell.Run("mkfs.ext4", "-q", "-F", "-d", tree, image).Ok("mkfs.ext4");
        return File.ReadAllBytes(image);
    }
}
