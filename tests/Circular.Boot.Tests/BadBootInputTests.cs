namespace Circular.Boot.Tests;

/// <summary>Each way a network boot can be misconfigured ends in one clear console message and a rescue shell.</summary>
[Collection("qemu")]
public sealed class BadBootInputTests(InetBootFixture f)
{
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(3);

    private async Task<string> RescueAsync(string cmdline, string[] network)
    {
        await using var guest = QemuGuest.Start("256M", ["-kernel", f.Kernel, "-initrd", f.Initramfs, "-append", "console=ttyS0 " + cmdline, .. network]);
        Assert.True(await QemuGuest.WaitForAsync(guest, "starting a rescue shell", Boot), "no rescue shell:\n" + guest.Out);
        Assert.DoesNotContain("Kernel panic", guest.Out);
        return guest.Out;
    }

    [Fact]
    public async Task An_unknown_image_is_named()
    {
        string console = await RescueAsync("circular.url=http://10.0.2.100 circular.image=nosuch", QemuGuest.Network([f.Port]));
        Assert.Contains("circular: no image 'nosuch'", console);
    }

    [Fact]
    public async Task A_machine_without_a_network_card_is_told_so()
    {
        string console = await RescueAsync("circular.url=http://10.0.2.100 circular.image=os", ["-nic", "none"]);
        Assert.Contains("circular: this machine has no network card", console);
    }

    [Fact]
    public async Task A_network_without_dhcp_is_told_so()
    {
        // A network card on a socket network nobody else is on: no DHCP server answers.
        string console = await RescueAsync("circular.url=http://10.0.2.100 circular.image=os",
            ["-netdev", $"socket,id=n0,listen=127.0.0.1:{Ports.Free()}", "-device", "virtio-net-pci,netdev=n0"]);
        Assert.Contains("circular: no DHCP answer on eth0", console);
    }

    [Fact]
    public async Task An_unreachable_archive_is_named_after_the_timeout()
    {
        string console = await RescueAsync("circular.url=http://10.0.2.100 circular.image=os circular.timeout=5", QemuGuest.Network([Ports.Free()]));
        Assert.Contains("circular: cannot read circular.json from http://10.0.2.100", console);
    }
}
