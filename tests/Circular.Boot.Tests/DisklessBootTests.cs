
namespace Circular.Boot.Tests;

/// <summary>
/// InetBoot (issue 12): a machine with no disk boots an archive's image through the Circular initramfs, over a
/// network that reaches only the loopback test servers (QEMU user networking, restrict=on, guestfwd).
/// </summary>
[Collection("qemu")]
public sealed class DisklessBootTests(InetBootFixture f)
{
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(3);

    private string[] Direct(string image, params int[] ports) => Direct(image, "", ports);

    private string[] Direct(string image, string more, params int[] ports) =>
        ["-kernel", f.Kernel, "-initrd", f.Initramfs, "-append", $"console=ttyS0 circular.url=http://10.0.2.100 circular.image={image}{more}",
         .. QemuGuest.Network(ports.Length > 0 ? ports : [f.Port])];

    [Fact]
    public async Task Versions_boot_by_number_and_latest_follows_a_rollback()
    {
        string console = await QemuGuest.RunAsync(Boot, "256M", Direct("os@1", " circular.readahead=256K"));
        Assert.True(GuestConsole.MarkerOf(console) == "v1", "os@1 did not boot to its marker:\n" + console);
        Assert.Contains("circular: os@1 (96.0 MiB) attached as /dev/nbd0", console);
        Assert.Contains("circular: /dev/nbd0: readahead 256 KiB", console); // the kernel's window, read back

        console = await QemuGuest.RunAsync(Boot, "256M", Direct("os"));
        Assert.True(GuestConsole.MarkerOf(console) == "v2", "os (latest) did not boot version 2:\n" + console);
        Assert.Contains("circular: /dev/nbd0: readahead 1024 KiB", console);

        (await CircularCli.RunAsync("rollback", f.Archive, "os", "1")).Ok();
        try
        {
            // serve and the booted client each reuse refs for a few seconds: wait them out.
            await Task.Delay(TimeSpan.FromSeconds(6));
            console = await QemuGuest.RunAsync(Boot, "256M", Direct("os"));
            Assert.True(GuestConsole.MarkerOf(console) == "v1", "after the rollback, os did not boot version 1:\n" + console);
        }
        finally
        {
            (await CircularCli.RunAsync("rollback", f.Archive, "os", "2")).Ok();
            await Task.Delay(TimeSpan.FromSeconds(6));
        }
    }
}
