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
        // Squid logs a request once it has finished with it, which can follow the client's exit by a moment.
        async Task LoggedAsync(int chunkLines)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (squid.AccessLog.Count(l => l.Contains("/chunks/", StringComparison.Ordinal)) < chunkLines && clock.Elapsed < TimeSpan.FromSeconds(10))
                await Task.Delay(100);
        }
        await LoggedAsync(8);
        int afterFirst = squid.AccessLog.Count;
        (await CircularCli.RunAsync(proxy, "cat", url.ToString(), "os", "-o", scratch["px-b"], "--cache", scratch["cache-b"])).Ok();
        await LoggedAsync(16);
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
        // The refs were cached before the push, so a run started after the max-age sees version 2. A run that started
        // before it may still be answered from the cache, so the bound allows one such run's length (each is a whole
        // process, seconds under a loaded CI) plus a margin; a proxy that ignored max-age would never show version 2.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double seenAt = -1, lastMiss = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(45))
        {
            double start = clock.Elapsed.TotalSeconds;
            var log = (await CircularCli.RunAsync(proxy, "log", url.ToString(), "os", "--cache", "none")).Ok();
            if (log.Out.Contains("(* = latest: version 2)", StringComparison.Ordinal))
            {
                seenAt = start;
                break;
            }
            lastMiss = clock.Elapsed.TotalSeconds - start;
            await Task.Delay(500);
        }
        Assert.True(seenAt >= 0, "version 2 was not seen through the proxy within 45 s (the refs' max-age is 10 s)");
        Assert.InRange(seenAt, 0, 10 + lastMiss + 3);
    }
}
