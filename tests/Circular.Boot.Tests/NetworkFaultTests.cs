using System.Diagnostics;

namespace Circular.Boot.Tests;

/// <summary>The network misbehaves while a machine boots from it: it stalls, a mirror serves damage, the key is wrong.</summary>
[Collection("qemu")]
public sealed class NetworkFaultTests(InetBootFixture f) : IDisposable
{
    private readonly Scratch _s = new();
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(4);

    public void Dispose() => _s.Dispose();

    private string[] Args(string initramfs, string cmdline, params int[] ports) =>
        ["-kernel", f.Kernel, "-initrd", initramfs, "-append", "console=ttyS0 " + cmdline, .. QemuGuest.Network(ports)];

    [Fact]
    public async Task A_20_second_stall_in_the_middle_of_the_boot_is_waited_through()
    {
        await using var proxy = new TcpProxy(f.Port);
        await using var guest = QemuGuest.Start("256M", Args(f.Initramfs, "circular.url=http://10.0.2.100 circular.image=os@2", proxy.Port));
        Assert.True(await QemuGuest.WaitForAsync(guest, "attached as /dev/nbd0", Boot), "the root was never attached:\n" + guest.Out);
        proxy.Stall();
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(20));
        Assert.DoesNotContain("CIRC-MARK", guest.Out);
        proxy.Resume();
        Assert.True(await QemuGuest.WaitForAsync(guest, "CIRC-MARK v2", Boot), "the boot did not complete after the network came back:\n" + guest.Out);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(20));
        Assert.DoesNotContain("I/O error", guest.Out);
    }

    [Fact]
    public async Task A_corrupt_chunk_on_one_mirror_is_read_from_the_other()
    {
        string damaged = _s["damaged"];
        Scratch.CopyDirectory(f.Archive, damaged);
        var chunks = Directory.GetFiles(Path.Combine(damaged, "chunks"), "*", SearchOption.AllDirectories);
        foreach (string chunk in chunks)
        {
            byte[] b = File.ReadAllBytes(chunk);
            b[^1] ^= 0x5a;
            File.WriteAllBytes(chunk, b);
        }
        var (bad, badUrl) = await CircularCli.ServeAsync(damaged);
        await using (bad)
        {
            await using var badProxy = new TcpProxy(badUrl.Port);
            // The good mirror says nothing until the damaged one has answered the client's first requests, so the client ranks
            // the damaged one first and meets its chunks; then it answers slowly (a second per hop) until the damaged one has
            // served a chunk, so that no round trip the load on this machine gives the damaged one ranks the good one first
            // before that (on a loaded CI the good one once served every chunk).
            await using var goodProxy = new TcpProxy(f.Port);
            goodProxy.Stall();
            await using var guest = QemuGuest.Start("256M",
                Args(f.Initramfs, "circular.url=http://10.0.2.100,http://10.0.2.101 circular.image=os@2", badProxy.Port, goodProxy.Port));
            for (int i = 0; i < 1200 && !badProxy.Requests.Any(r => r.StartsWith("GET /", StringComparison.Ordinal)) && !guest.HasExited; i++) await Task.Delay(100);
            await Task.Delay(1000);
            goodProxy.Delay = TimeSpan.FromSeconds(1);
            goodProxy.Resume();
            for (int i = 0; i < 2400 && !badProxy.Requests.Any(r => r.StartsWith("GET /chunks/", StringComparison.Ordinal)) && !guest.HasExited; i++) await Task.Delay(100);
            goodProxy.Delay = TimeSpan.Zero;
            Assert.True(await QemuGuest.WaitForAsync(guest, "CIRC-MARK v2", Boot), "the boot did not complete:\n" + guest.Out);
            Assert.Contains(badProxy.Requests, r => r.StartsWith("GET /chunks/", StringComparison.Ordinal));
            Assert.Contains(goodProxy.Requests, r => r.StartsWith("GET /chunks/", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_signed_archive_boots_with_its_key_and_stops_clearly_with_another()
    {
        string good = await QemuGuest.RunAsync(Boot, "256M",
            Args(f.KeyedInitramfs, $"circular.url=http://10.0.2.100 circular.image=os circular.trust={f.KeyAId}", f.SignedPort));
        Assert.True(good.Contains("CIRC-MARK v2", StringComparison.Ordinal), "the signed archive did not boot with its key:\n" + good);

        await using var guest = QemuGuest.Start("256M", Args(f.KeyedInitramfs, $"circular.url=http://10.0.2.100 circular.image=os circular.trust={f.KeyBId}", f.SignedPort));
        Assert.True(await QemuGuest.WaitForAsync(guest, "rescue shell", Boot), "no rescue shell after a wrong key:\n" + guest.Out);
        Assert.Contains($"not trusted (trusted: {f.KeyBId})", guest.Out);
        Assert.DoesNotContain("CIRC-MARK", guest.Out);
        Assert.DoesNotContain("Kernel panic", guest.Out);
    }
}
