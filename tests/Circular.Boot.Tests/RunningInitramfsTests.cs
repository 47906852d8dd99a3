using Circular.Boot.Kexec;

namespace Circular.Boot.Tests;

public class RunningInitramfsTests
{
    [Fact]
    public void The_kept_initramfs_is_handed_over_as_it_is_else_the_running_root_is_packed()
    {
        string dir = Directory.CreateTempSubdirectory("circular-running-").FullName;
        try
        {
            string root = Path.Combine(dir, "root"), work = Path.Combine(dir, "kexec"), retained = Path.Combine(dir, "initrd");
            Directory.CreateDirectory(Path.Combine(root, "bin"));
            File.WriteAllText(Path.Combine(root, "init"), "#!/bin/sh\n");
            File.WriteAllText(Path.Combine(root, "bin", "circular"), "client");

            // No kept image (a kernel booted without retain_initrd): the running root, packed as newc cpio.
            string packed = RunningInitramfs.SaveTo(root, work, retained);
            Assert.Equal("circular.cpio", Path.GetFileName(packed));
            byte[] cpio = File.ReadAllBytes(packed);
            Assert.Equal("070701"u8.ToArray(), cpio[..6]);
            Assert.Contains("bin/circular", System.Text.Encoding.ASCII.GetString(cpio));

            // A kept image: its bytes exactly, not a packing of the root.
            byte[] kept = new byte[3 << 20];
            new Random(7).NextBytes(kept);
            File.WriteAllBytes(retained, kept);
            string handed = RunningInitramfs.SaveTo(root, work, retained);
            Assert.Equal("circular.img", Path.GetFileName(handed));
            Assert.Equal(kept, File.ReadAllBytes(handed));

            // An empty one (nothing kept) is not handed over.
            File.WriteAllBytes(retained, []);
            Assert.Equal("circular.cpio", Path.GetFileName(RunningInitramfs.SaveTo(root, work, retained)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_booted_initramfs_size_is_read_from_the_x86_boot_params()
    {
        string file = Path.GetTempFileName();
        try
        {
            var b = new byte[4096];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x21c), 11_431_217);
            File.WriteAllBytes(file, b);
            Assert.Equal(11_431_217, BootMediumInitramfs.BootedSize(file));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0xc4), 1); // ext_ramdisk_size: the high 32 bits
            File.WriteAllBytes(file, b);
            Assert.Equal((1L << 32) + 11_431_217, BootMediumInitramfs.BootedSize(file));
            File.WriteAllBytes(file, new byte[4096]);
            Assert.Null(BootMediumInitramfs.BootedSize(file)); // booted without an initramfs
            Assert.Null(BootMediumInitramfs.BootedSize(file + ".missing"));
        }
        finally { File.Delete(file); }
    }
}
