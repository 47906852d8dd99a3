using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// A real Squid between clients and `circular serve` (a site proxy, reached through HTTP_PROXY): a second client's
/// cold read makes no chunk request to the origin, and a version pushed later is seen once the refs' max-age passes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProxyTests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task SecondClientThroughSquid_fetchesNoChunkFromTheOrigin_andSeesANewVersionAfterMaxAge()
    {
        string archive = await scratch.InitArchiveAsync("px");
        string v1 = RandomData.WriteFile(scratch["px1.img"], 8 * 256 * 1024, 1);
        (await CircularCli.RunAsync("push", archive, "os", v1)).Ok();
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using var _ = server;
        await using var squid = await SquidServer.StartAsync();
        var proxy = new Dictionary<string, string> { ["HTTP_PROXY"] = squid.ProxyUrl, ["http_proxy"] = squid.ProxyUrl };

        (await CircularCli.RunAsync(proxy, "cat", url.ToString(), "os", "-o", scratch["px-a"], "--cache", scratch["cache-a"])).Ok();
        int afterFirst = squid.AccessLog.Count;
        (await CircularCli.RunAsync(proxy, "cat", url.ToString(), "os", "-o", scratch["px-b"], "--cache", scratch["cache-b"])).Ok();
        Files.AssertSameBytes(v1, scratch["px-a"]);
        Files.AssertSameBytes(v1, scratch["px-b"]);

        var first = squid.AccessLog.Take(afterFirst).Where(l => l.Contains("/chunks/", StringComparison.Ordinal)).ToList();
        var second = squid.AccessLog.Skip(afterFirst).Where(l => l.Contains("/chunks/", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, first.Count(l => l.Contains("TCP_MISS/200", StringComparison.Ordinal)));
        Assert.Equal(8, second.Count);
        Assert.All(second, l => Assert.Contains("HIT/200", l, StringComparison.Ordinal)); // the origin saw none of them

        // A new version: refs are cached for their max-age (10 s), then revalidated.
        string v2 = RandomData.WriteFile(scratch["px2.img"], 8 * 256 * 1024, 2);
        (await CircularCli.RunAsync("push", archive, "os", v2)).Ok();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string? seen = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            var log = (await CircularCli.RunAsync(proxy, "log", url.ToString(), "os", "--cache", "none")).Ok();
            if (log.Out.Contains("(* = latest: version 2)", StringComparison.Ordinal))
            {
                seen = log.Out;
                break;
            }
            await Task.Delay(500);
        }
        Assert.True(seen is not null, "version 2 was not seen through the proxy within the refs' max-age plus a few seconds");
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, 10 + 3);
    }
}
