using System.Net;
using Circular.Boot.Guest;
using Circular.Core.Errors;

namespace Circular.Boot.Tests;

public class BootParametersTests
{
    [Fact]
    public void Reads_the_circular_words_and_ignores_the_kernels()
    {
        var p = BootParameters.Parse("BOOT_IMAGE=/vmlinuz console=ttyS0 quiet circular.url=http://a/arch/,https://b/arch circular.image=os@stable " +
            "circular.trust=0123456789abcdef circular.timeout=30 circular.root=2 init=/lib/systemd/systemd circular.memory=32M");
        Assert.Equal(["http://a/arch", "https://b/arch"], p.Urls);
        Assert.Equal("os@stable", p.Image.ToString());
        Assert.Equal(["0123456789abcdef"], p.TrustKeyIds);
        Assert.Equal(30, p.TimeoutSeconds);
        Assert.Equal("2", p.Root);
        Assert.Equal("/lib/systemd/systemd", p.Init);
        Assert.Equal(32L << 20, p.MemoryCacheBytes);
        Assert.Equal("dhcp", p.IpMode);
        Assert.Null(p.MediumInitrd);
        Assert.Equal("/boot/initramfs", BootParameters.Parse("circular.initrd=/boot/initramfs").MediumInitrd);
    }

    [Fact]
    public void Defaults_hold_without_words()
    {
        var p = BootParameters.Parse("console=ttyS0");
        Assert.Empty(p.Urls);
        Assert.Null(p.Image);
        Assert.Equal(BootParameters.DefaultTimeoutSeconds, p.TimeoutSeconds);
        Assert.Equal("auto", p.Cache);
        Assert.Equal(16L << 20, p.MemoryCache(256L << 20));
        Assert.Equal(64L << 20, p.MemoryCache(8L << 30));
        Assert.Equal(1024, p.ReadaheadKiB);
    }

    [Fact]
    public void The_readahead_window_is_a_size_in_whole_pages()
    {
        Assert.Equal(128, BootParameters.Parse("circular.readahead=128K").ReadaheadKiB);
        Assert.Equal(2048, BootParameters.Parse("circular.readahead=2M").ReadaheadKiB);
        foreach (string bad in new[] { "0", "1000", "32M", "fast" })
            Assert.Contains("circular.readahead=" + bad, Assert.Throws<UsageException>(() => BootParameters.Parse("circular.readahead=" + bad)).Message);
    }

    [Fact]
    public void Static_addresses_follow_the_kernels_ip_syntax()
    {
        var p = BootParameters.Parse("ip=192.168.7.20::192.168.7.1:255.255.255.0:node:eth1:off");
        Assert.Equal("static", p.IpMode);
        Assert.Equal(IPAddress.Parse("192.168.7.20"), p.StaticIp!.Address);
        Assert.Equal(24, p.StaticIp.PrefixLength);
        Assert.Equal(IPAddress.Parse("192.168.7.1"), p.StaticIp.Gateway);
        Assert.Equal("eth1", p.StaticIp.Device);
        Assert.Empty(p.StaticIp.NameServers);
        Assert.Equal("off", BootParameters.Parse("ip=off").IpMode);
        Assert.Equal("dhcp", BootParameters.Parse("ip=:::::eth0:dhcp").IpMode);
        var dns = BootParameters.Parse("ip=10.1.2.3::10.1.2.1:255.255.0.0::eth0:off:10.1.0.53:9.9.9.9").StaticIp!;
        Assert.Equal(16, dns.PrefixLength);
        Assert.Equal([IPAddress.Parse("10.1.0.53"), IPAddress.Parse("9.9.9.9")], dns.NameServers);
    }

    [Fact]
    public void A_dhcp_lease_is_handed_to_the_next_kernel_as_static_settings()
    {
        string dir = Directory.CreateTempSubdirectory("circular-lease-").FullName;
        try
        {
            string lease = Path.Combine(dir, "lease"), resolv = Path.Combine(dir, "resolv.conf");
            Assert.Null(GuestNetwork.LeaseWord(lease, resolv)); // no DHCP here: nothing to hand over
            File.WriteAllText(lease, "eth0 10.0.2.15/24 10.0.2.2\n");
            File.WriteAllText(resolv, "nameserver 10.0.2.3\nnameserver fe80::1\nsearch example.org\n");
            string word = GuestNetwork.LeaseWord(lease, resolv)!;
            Assert.Equal("ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3", word);
            // The next kernel's initramfs reads it back as the same settings.
            var s = BootParameters.Parse("console=ttyS0 " + word).StaticIp!;
            Assert.Equal((IPAddress.Parse("10.0.2.15"), 24, IPAddress.Parse("10.0.2.2"), "eth0"), (s.Address, s.PrefixLength, s.Gateway, s.Device));
            Assert.Equal([IPAddress.Parse("10.0.2.3")], s.NameServers);
            File.WriteAllText(lease, "eth1 192.168.1.9/20\n");
            File.Delete(resolv);
            Assert.Equal("ip=192.168.1.9:::255.255.240.0::eth1:off", GuestNetwork.LeaseWord(lease, resolv));
            File.WriteAllText(lease, "eth1 garbage\n");
            Assert.Null(GuestNetwork.LeaseWord(lease, resolv));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("circular.url=ftp://x")]
    [InlineData("circular.image=../etc")]
    [InlineData("circular.timeout=soon")]
    [InlineData("circular.trust=nothex")]
    [InlineData("init=sbin/init")]
    [InlineData("circular.initrd=boot/initramfs")]
    [InlineData("circular.initrd=/boot/../etc/shadow")]
    [InlineData("ip=10.0.0.2::gateway:255.0.0.0")]
    [InlineData("ip=10.0.0.2::10.0.0.1:255.0.0.0::eth0:off:resolver")]
    public void Malformed_words_are_refused_naming_them(string word)
    {
        var e = Assert.Throws<UsageException>(() => BootParameters.Parse("console=ttyS0 " + word));
        Assert.Contains(word.Split('=')[0], e.Message);
    }
}
