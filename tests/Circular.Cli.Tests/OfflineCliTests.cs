using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// The README's promise, through the command users run: what a client read once from a URL it reads again from its
/// cache when the archive's server is gone — `cat`, `log`, `images` and `nbd`, for unsigned and signed archives.
/// </summary>
public sealed class OfflineCliTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private async Task<string> ArchiveAsync(string name, string? key)
    {
        string archive = await _s.InitArchiveAsync(name);
        string image = _s.Once("img", p => RandomData.WriteFile(p, 3_000_000, 7));
        await PushOutput.PushAsync(key is null ? [archive, "os", image] : [archive, "os", image, "--key", key]);
        return archive;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_warm_cache_answers_every_reading_command_once_the_server_is_gone(bool signed)
    {
        string? key = null;
        if (signed)
        {
            key = _s["signing.key"];
            (await CircularCli.RunAsync("key", "generate", key)).Ok();
        }
        string archive = await ArchiveAsync(signed ? "signed" : "unsigned", key);
        // A private trust store: a signed archive's key is pinned there on first use, as for a user.
        var env = new Dictionary<string, string> { ["XDG_DATA_HOME"] = _s["trust"] };
        string cache = _s["cache"];
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            (await CircularCli.RunAsync(env, "cat", url.ToString(), "os", "-o", _s["online.img"], "--cache", cache)).Ok();
            Files.AssertSameBytes(_s["img"], _s["online.img"]);
        }

        var cat = await CircularCli.RunAsync(env, "cat", url.ToString(), "os", "-o", _s["offline.img"], "--cache", cache);
        cat.Ok();
        Files.AssertSameBytes(_s["img"], _s["offline.img"]);
        Assert.Contains("working offline from the cache", cat.Err);

        var log = (await CircularCli.RunAsync(env, "log", url.ToString(), "os", "--cache", cache)).Ok();
        Assert.Contains("(* = latest: version 1)", log.Out);
        if (signed) Assert.Contains("signed by key", log.Out);
        Assert.Contains("os", (await CircularCli.RunAsync(env, "images", url.ToString(), "--cache", cache)).Ok().Out);

        int port = Ports.Free();
        await using var nbd = CircularCli.Start("nbd", url.ToString(), "--cache", cache, "--listen", $"127.0.0.1:{port}");
        Assert.True(await Ports.WaitListeningAsync(port, TimeSpan.FromSeconds(30)), "nbd did not listen offline: " + nbd.Err);
        Tools.Run("nbdcopy", $"nbd://127.0.0.1:{port}/os", _s["nbd.img"]);
        Files.AssertSameBytes(_s["img"], _s["nbd.img"]);
    }

    [Fact]
    public async Task Offline_data_never_cached_fails_with_one_line_naming_it()
    {
        string archive = await ArchiveAsync("partial", null);
        string cache = _s["partial-cache"];
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
            (await CircularCli.RunAsync("log", url.ToString(), "os", "--cache", cache)).Ok(); // refs only: no manifest, no chunk

        var r = await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["partial.img"], "--cache", cache);
        Assert.Equal(1, r.Code);
        var line = Assert.Single(r.ErrLines, l => !l.Contains("warning", StringComparison.Ordinal));
        Assert.Contains("cannot read images/os/versions/1", line);
        Assert.Contains("Connection refused", line);
        Assert.False(File.Exists(_s["partial.img"]));
    }
}
