using System.Diagnostics;
using Circular.Boot.Initramfs;
using Circular.Boot.Media;

namespace Circular.Boot.Tests;

public class InitramfsTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private static string HostModuleTree() =>
        Directory.GetDirectories("/lib/modules").Where(d => File.Exists(Path.Combine(d, "modules.dep"))).Order(StringComparer.Ordinal).LastOrDefault()
        ?? throw new Xunit.Sdk.XunitException("no kernel module tree in /lib/modules: run scripts/install-deps.sh (linux-image-amd64)");

    [Fact]
    public void A_cpio_archive_lists_back_with_busybox_cpio()
    {
        var cpio = new CpioArchive();
        cpio.AddFile("etc/circular/modules", "nbd\n"u8);
        cpio.AddSymlink("bin/sh", "busybox");
        cpio.AddCharDevice("dev/console", 5, 1);
        cpio.AddDirectory("newroot");
        File.WriteAllBytes(_s["a.cpio"], cpio.ToArray());
        string listing = Tools.Run("busybox", "cpio", "-t", "-F", _s["a.cpio"]);
        Assert.Equal(["bin", "bin/sh", "dev", "dev/console", "etc", "etc/circular", "etc/circular/modules", "newroot"],
            listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal).ToArray());
        Directory.CreateDirectory(_s["x"]);
        Tools.Run("sh", "-c", $"cd {_s["x"]} && busybox cpio -i -d -F {_s["a.cpio"]}");
        Assert.Equal("nbd\n", File.ReadAllText(Path.Combine(_s["x"], "etc/circular/modules")));
        Assert.Equal("busybox", new FileInfo(Path.Combine(_s["x"], "bin/sh")).LinkTarget);
    }

    [Fact]
    public void The_module_closure_brings_dependencies_first_and_skips_builtins()
    {
        var tree = KernelModules.Load(HostModuleTree());
        var files = tree.Closure(["virtio_net", "ext4", "af_packet", "no_such_module"], out var missing);
        Assert.Equal(["no_such_module"], missing);
        int net = files.ToList().FindIndex(f => f.EndsWith("/virtio_net.ko", StringComparison.Ordinal));
        int ring = files.ToList().FindIndex(f => f.EndsWith("/virtio_ring.ko", StringComparison.Ordinal));
        Assert.True(ring >= 0 && net > ring, "virtio_ring must come before virtio_net: " + string.Join(", ", files));
        Assert.Contains(files, f => f.EndsWith("/jbd2.ko", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("/crc32c_generic.ko", StringComparison.Ordinal)); // ext4's soft dependency
        Assert.DoesNotContain(files, f => f.Contains("af_packet", StringComparison.Ordinal)); // built in
    }

    [Fact]
    public void Module_indexes_keep_only_carried_modules_and_drivers_are_told_apart()
    {
        var tree = KernelModules.Load(HostModuleTree());
        var names = InitramfsOptions.DefaultModules;
        var carried = tree.Closure(names, out _).Select(KernelModules.NameOf).ToHashSet(StringComparer.Ordinal);
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        ModuleIndexes.Write(tree, carried, (index, bytes) => written[index] = System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(["modules.alias", "modules.builtin", "modules.dep", "modules.order", "modules.softdep", "modules.symbols"], written.Keys.Order(StringComparer.Ordinal));
        // Every dependency line is about a carried module, and every carried module has its line.
        var depLines = written["modules.dep"].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(carried.Order(StringComparer.Ordinal), depLines.Select(l => KernelModules.NameOf(l[..l.IndexOf(':')])).Order(StringComparer.Ordinal));
        Assert.Contains("alias fs-ext4 ext4", written["modules.alias"]);
        Assert.Contains(" e1000\n", written["modules.alias"]);
        Assert.DoesNotContain("snd_hda_intel", written["modules.alias"]);
        Assert.True(written["modules.alias"].Length < 200_000, $"modules.alias is {written["modules.alias"].Length} bytes");

        var drivers = ModuleIndexes.Drivers(tree, names);
        foreach (var d in new[] { "virtio_net", "e1000", "e1000e", "r8169", "virtio_blk", "ahci", "virtio_pci" }) Assert.Contains(d, drivers);
        foreach (var m in new[] { "nbd", "ext4", "overlay", "loop", "fuse", "squashfs", "sd_mod", "sr_mod" }) Assert.DoesNotContain(m, drivers);
    }

    [Fact]
    public void The_kernel_release_is_read_from_a_bzImage()
    {
        string kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).Last();
        Assert.Equal(Path.GetFileName(kernel)["vmlinuz-".Length..], KernelImage.Release(kernel));
        Assert.Null(KernelImage.Release(new byte[4096]));
    }

    [Fact]
    public void A_missing_module_tree_names_the_package()
    {
        var e = Assert.Throws<Core.Errors.NotFoundException>(() => KernelModules.Load(_s["lib/modules/9.9.9-none"]));
        Assert.Contains("apt-get install linux-image-9.9.9-none", e.Message);
    }

    [Fact]
    public void Grub_and_ipxe_menus_name_the_archive_and_image()
    {
        string cmdline = CommandLine.For(["http://h/a/"], Core.Archive.ImageSpec.Parse("os@2"), ["0123456789abcdef"]);
        Assert.Equal("console=tty0 console=ttyS0,115200 circular.url=http://h/a circular.image=os@2 circular.trust=0123456789abcdef", cmdline);
        string grub = BootIso.GrubConfig([new BootEntry("Circular: os@2", cmdline)], 3);
        Assert.Contains("serial --unit=0 --speed=115200", grub);
        Assert.Contains($"linux /boot/vmlinuz {cmdline}", grub);
        Assert.Contains($"linux16 /boot/vmlinuz {cmdline}", grub);
        string ipxe = Netboot.IpxeScript.For("Circular: os@2", "../kernels/k", "../initramfs/i.img", cmdline);
        Assert.StartsWith("#!ipxe\n", ipxe);
        Assert.Contains($"kernel ../kernels/k initrd=initramfs {cmdline}", ipxe);
        Assert.Contains("initrd --name initramfs ../initramfs/i.img", ipxe);
    }
}
