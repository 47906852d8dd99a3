namespace Circular.Boot.Tests;

/// <summary>A real systemd system (fstab naming its root by UUID) boots through the Circular initramfs and powers off cleanly.</summary>
[Collection("qemu")]
public sealed class DebianBootTests(InetBootFixture f) : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task Debian_with_systemd_boots_and_powers_off_cleanly()
    {
        string image = await DebianImage.GetAsync();
        string archive = _s["archive"];
        (await CircularCli.RunAsync("init", archive)).Ok();
        (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "push", archive, "debian", image, "--kernel", f.Kernel)).Ok();
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            await using var guest = QemuGuest.Start("512M", ["-kernel", f.Kernel, "-initrd", f.Initramfs,
                "-append", "console=ttyS0 circular.url=http://10.0.2.100 circular.image=debian", .. QemuGuest.Network([url.Port])]);
            Assert.True(await QemuGuest.WaitForAsync(guest, DebianImage.Marker, TimeSpan.FromMinutes(6)), "systemd did not reach its marker:\n" + guest.Out);
            Assert.True(await QemuGuest.WaitForAsync(guest, "reboot: Power down", TimeSpan.FromMinutes(3)), "the system did not power off:\n" + guest.Out);
            string console = guest.Out;
            Assert.DoesNotContain("Kernel panic", console);
            Assert.DoesNotContain("I/O error", console);
            Assert.DoesNotContain("Failed to mount", console);
            Assert.DoesNotContain("FAILED", console);
            // systemd spared the root's server at shutdown (argv[0] "@circular").
            Assert.DoesNotContain("Sending SIGKILL to PID", console);
        }
    }
}
