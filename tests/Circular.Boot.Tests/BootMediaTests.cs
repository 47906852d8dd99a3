using System.Text.RegularExpressions;

namespace Circular.Boot.Tests;

/// <summary>The media that start a diskless machine: QEMU's network boot ROM chaining an iPXE script, and the boot ISO.</summary>
[Collection("qemu")]
public sealed class BootMediaTests(InetBootFixture f) : IDisposable
{
    private readonly Scratch _s = new();
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(4);

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task The_network_boot_rom_chains_the_served_ipxe_script()
    {
        // serve makes the script, the kernel and the initramfs on request; build the initramfs before the ROM asks.
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        string script = await http.GetStringAsync($"http://127.0.0.1:{f.Port}/boot/os/latest.ipxe");
        Assert.StartsWith("#!ipxe", script);
        Assert.Contains("circular.url=http://127.0.0.1:" + f.Port, script);
        var initramfs = Regex.Match(script, @"initrd --name initramfs \.\./(\S+)").Groups[1].Value;
        Assert.True((await http.GetByteArrayAsync($"http://127.0.0.1:{f.Port}/boot/{initramfs}")).Length > 1 << 20);

        string console = await QemuGuest.RunAsync(Boot, "256M",
            ["-boot", "n", .. QemuGuest.Network([f.Port], bootFile: "http://10.0.2.100/boot/os/latest.ipxe")]);
        Assert.True(GuestConsole.MarkerOf(console) == "v2", "the iPXE network boot did not reach version 2's marker:\n" + console);
        Assert.Contains("circular.url=http://10.0.2.100", console); // the script took its URLs from the request
    }

    [Fact]
    public async Task The_boot_iso_boots_under_bios_and_uefi()
    {
        string iso = _s["boot.iso"];
        // The ISO as users get it: its initramfs built for it (xz), which is what keeps it under 24 MB.
        var made = (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "iso", f.Archive, "os", "-o", iso, "--url", "http://10.0.2.100")).Ok();
        Assert.Contains("wrote " + iso, made.Out);
        Assert.True(new FileInfo(iso).Length < 24_000_000, $"the ISO is {new FileInfo(iso).Length} bytes");

        string bios = await QemuGuest.RunAsync(Boot, "256M", ["-cdrom", iso, "-boot", "d", .. QemuGuest.Network([f.Port])]);
        Assert.True(GuestConsole.MarkerOf(bios) == "v2", "BIOS boot of the ISO did not reach the marker:\n" + bios);

        // GRUB's EFI build runs out of memory loading the kernel at 256 MB (docs/inetboot.md).
        string uefi = await QemuGuest.RunAsync(Boot, "384M", [.. QemuGuest.Uefi(_s.Dir), "-cdrom", iso, "-boot", "d", .. QemuGuest.Network([f.Port])]);
        Assert.True(GuestConsole.MarkerOf(uefi) == "v2", "UEFI boot of the ISO did not reach the marker:\n" + uefi);
    }
}
