using Circular.Boot.Initramfs;
using Xunit.Abstractions;

namespace Circular.Boot.Tests;

/// <summary>
/// Issue 19: the universal medium's menu and its kexec into the chosen version's own kernel; `circular kexec` from a
/// running Linux; a plain Live ISO on a web server booted over HTTP ranges (HTTPFS).
/// </summary>
[Collection("qemu")]
public sealed class DoubleDeckTests(InetBootFixture f, ITestOutputHelper output) : IDisposable
{
    private readonly Scratch _s = new();
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(5);

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task The_universal_iso_boots_the_menus_default_with_that_versions_own_kernel()
    {
        string iso = _s["universal.iso"];
        var made = (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "iso", f.Archive, "-o", iso, "--url", "http://10.0.2.100",
            "--initramfs", f.Initramfs, "--menu-timeout", "2", "--append", "circular.image=os@1")).Ok();
        Assert.Contains("universal", made.Out);
        string console = await QemuGuest.RunAsync(Boot, "512M", ["-cdrom", iso, "-boot", "d", .. QemuGuest.Network([f.Port])]);
        Assert.Contains("Circular boot menu", console);
        Assert.Contains("os (latest: version 2", console);
        var kernels = GuestConsole.Kernels(console);
        Assert.True(kernels.Count == 2, "expected the medium's kernel, then the version's:\n" + console);
        Assert.DoesNotContain("deck=", kernels[0]);
        Assert.Contains("deck=one", kernels[1]); // version 1's own command line: its own kernel was started
        Assert.Contains("circular.image=os@1", kernels[1]);
        Assert.True(GuestConsole.MarkerOf(console) == "v1", "the chosen version did not boot:\n" + console);
    }

    [Fact]
    public async Task Circular_kexec_moves_a_running_machine_into_another_version()
    {
        // The Circular initramfs with one more file: a script the kernel runs instead of /init (rdinit=), which brings the
        // network up and runs `circular kexec` as a user would on any running Linux.
        var extra = new CpioArchive();
        extra.AddFile("kexec-test", """
            #!/bin/sh
            export PATH=/bin:/sbin
            mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
            mkdir -p /run; mount -t tmpfs tmpfs /run; mkdir -p /run/circular
            for m in $(cat /etc/circular/modules /etc/circular/drivers); do modprobe "$m" 2>/dev/null; done
            ip link set lo up; ip link set eth0 up
            udhcpc -i eth0 -n -q -f -s /etc/udhcpc/default.script >/dev/null 2>&1
            echo "KEXEC-TEST: running circular kexec"
            circular kexec http://10.0.2.100 os@1 --cache none
            echo "KEXEC-TEST: circular kexec returned $?"
            poweroff -f
            """u8, 0x1ed);
        string initrd = _s["kexec-test.img"];
        await using (var file = File.Create(initrd))
        {
            await using (var circular = File.OpenRead(f.Initramfs)) await circular.CopyToAsync(file);
            while (file.Length % 4 != 0) file.WriteByte(0);
            file.Write(extra.ToArray());
        }
        string console = await QemuGuest.RunAsync(Boot, "512M", ["-kernel", f.Kernel, "-initrd", initrd,
            "-append", "console=ttyS0 rdinit=/kexec-test", .. QemuGuest.Network([f.Port])]);
        Assert.Contains("KEXEC-TEST: running circular kexec", console);
        Assert.DoesNotContain("KEXEC-TEST: circular kexec returned", console);
        var kernels = GuestConsole.Kernels(console);
        Assert.True(kernels.Count == 2, "no second kernel started:\n" + console);
        Assert.Contains("deck=one", kernels[1]);
        Assert.True(GuestConsole.MarkerOf(console) == "v1", "the kexec'd kernel did not boot version 1:\n" + console);
    }

    [Fact]
    public async Task A_live_iso_on_a_web_server_boots_over_http_ranges()
    {
        Tools.Require("mksquashfs", "xorriso");
        string tree = _s["live"], www = _s["www"];
        Directory.CreateDirectory(Path.Combine(tree, "live"));
        Directory.CreateDirectory(www);
        Tools.Run("mksquashfs", f.RootV1, Path.Combine(tree, "live", "filesystem.squashfs"), "-quiet", "-noappend");
        // Padding the ISO makes "reads only what the boot touches" visible.
        File.WriteAllBytes(Path.Combine(tree, "padding.bin"), RandomData.Bytes(30 << 20, 3));
        string iso = Path.Combine(www, "live.iso");
        Tools.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", iso, "-V", "LIVE", tree);
        Scratch.MakeReadable(www);
        using var nginx = await NginxServer.StartAsync(www);
        string console = await QemuGuest.RunAsync(Boot, "512M", ["-kernel", f.Kernel, "-initrd", f.Initramfs,
            "-append", "console=ttyS0 circular.url=http://10.0.2.100/live.iso", .. QemuGuest.Network([nginx.Port])]);
        Assert.Contains("reading it as a Live ISO", console);
        Assert.True(GuestConsole.MarkerOf(console) == "v1", "the Live ISO did not boot:\n" + console);
        long isoSize = new FileInfo(iso).Length;
        long fetched = nginx.AccessLog.Select(BytesOf).Sum();
        output.WriteLine($"fetched {fetched} bytes of the {isoSize}-byte ISO ({100.0 * fetched / isoSize:F1}%)");
        Assert.True(fetched < isoSize * 0.6, $"fetched {fetched} of {isoSize} bytes: the padding was read too");
    }

    /// <summary>Bytes sent, the last field of the test nginx's access log lines.</summary>
    private static long BytesOf(string line) =>
        long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(), out long n) ? n : 0;

    [Fact]
    public async Task Static_netboot_files_boot_the_menu_over_ipxe_from_a_plain_web_server()
    {
        // A copy of the archive with `circular netboot`'s static files, served by nginx: no Circular server at all.
        string archive = _s["static"];
        Tools.Run("cp", "-a", f.Archive, archive);
        var made = (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "netboot", archive, "os", "--url", "http://10.0.2.100",
            "--append", "circular.image=os circular.menu-timeout=1")).Ok();
        foreach (string script in new[] { "boot/os/1.ipxe", "boot/os/2.ipxe", "boot/os/latest.ipxe", "boot/menu.ipxe" })
            Assert.True(File.Exists(Path.Combine(archive, script)), $"{script} was not written:\n{made.Out}");
        Assert.Contains("circular.image=os@1", File.ReadAllText(Path.Combine(archive, "boot/os/1.ipxe")));
        Scratch.MakeReadable(archive);
        using var nginx = await NginxServer.StartAsync(archive);
        string console = await QemuGuest.RunAsync(Boot, "512M", ["-boot", "n", .. QemuGuest.Network([nginx.Port], bootFile: "http://10.0.2.100/boot/menu.ipxe")]);
        Assert.Contains("Circular boot menu", console);
        var kernels = GuestConsole.Kernels(console);
        Assert.True(kernels.Count == 2 && kernels[1].Contains("deck=two", StringComparison.Ordinal), "the menu's default (latest) did not start with its own kernel:\n" + console);
        Assert.True(GuestConsole.MarkerOf(console) == "v2", "the iPXE menu boot did not reach the latest version:\n" + console);
    }
}
