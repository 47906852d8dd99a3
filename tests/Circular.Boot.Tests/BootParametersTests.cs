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
        Assert.Equal("off", BootParameters.Parse("ip=off").IpMode);
        Assert.Equal("dhcp", BootParameters.Parse("ip=:::::eth0:dhcp").IpMode);
    }

    [Theory]
    [InlineData("circular.url=ftp://x")]
    [InlineData("circular.image=../etc")]
    [InlineData("circular.timeout=soon")]
    [InlineData("circular.trust=nothex")]
    [InlineData("init=sbin/init")]
    [InlineData("ip=10.0.0.2::gateway:255.0.0.0")]
    public void Malformed_words_are_refused_naming_them(string word)
    {
        var e = Assert.Throws<UsageException>(() => BootParameters.Parse("console=ttyS0 " + word));
        Assert.Contains(word.Split('=')[0], e.Message);
    }
}
