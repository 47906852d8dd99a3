using System.Net;
using Circular.Core.Errors;

namespace Circular.Nbd.Tests;

public sealed class NbdEndPointsTests
{
    [Theory]
    [InlineData("127.0.0.1:2000", "127.0.0.1:2000")]
    [InlineData("127.0.0.1", "127.0.0.1:10809")]
    [InlineData(":2000", "0.0.0.0:2000")]
    [InlineData("[::1]:2000", "[::1]:2000")]
    [InlineData("::1", "[::1]:10809")]
    [InlineData("localhost:0", "127.0.0.1:0")]
    public void ParseListen_accepts_common_forms(string text, string expected) =>
        Assert.Equal(IPEndPoint.Parse(expected), NbdEndPoints.ParseListen(text));

    [Theory]
    [InlineData("127.0.0.1:http")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("no-such-host.invalid:2000")]
    public void ParseListen_rejects_bad_addresses_as_usage_errors(string text) =>
        Assert.Throws<UsageException>(() => NbdEndPoints.ParseListen(text));

    [Fact]
    public void Unix_makes_the_path_absolute() =>
        Assert.Equal(Path.GetFullPath("x.sock"), NbdEndPoints.Unix("x.sock").ToString());
}
