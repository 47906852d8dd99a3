using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// Mirror discovery: an archive publishes its mirror list (`circular mirrors add`), `mirror` carries it to the
/// mirrors, and a client given only the origin's URL reads from the listed mirrors and fails over between them.
/// </summary>
public sealed class MirrorDiscoveryTests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task ClientKnowingOnlyTheOrigin_readsFromADiscoveredMirror_andFailsOverWhenItGoesAway()
    {
        string origin = await scratch.InitArchiveAsync("origin");
        string img = RandomData.WriteFile(scratch["d.img"], 6 * 256 * 1024, 1);
        (await CircularCli.RunAsync("push", origin, "os", img)).Ok();
        string m1 = scratch["m1"], m2 = scratch["m2"];
        (await CircularCli.RunAsync("mirror", origin, m1)).Ok();
        (await CircularCli.RunAsync("mirror", origin, m2)).Ok();
        var (s1, u1) = await CircularCli.ServeAsync(m1);
        var (s2, u2) = await CircularCli.ServeAsync(m2);
        await using var keep2 = s2;
        (await CircularCli.RunAsync("mirrors", "add", origin, u1.ToString(), u2.ToString())).Ok();
        var list = (await CircularCli.RunAsync("mirrors", "list", origin)).Ok();
        Assert.Contains("2 mirror(s)", list.Out);
        Assert.Contains("unsigned", list.Out);
        // The origin keeps its metadata but has lost its chunks: every chunk read must go to a mirror it learned of.
        Directory.Move(Path.Combine(origin, "chunks"), scratch["origin-chunks-gone"]);
        var (so, uo) = await CircularCli.ServeAsync(origin);
        await using var keepOrigin = so;

        (await CircularCli.RunAsync("cat", uo.ToString(), "os", "-o", scratch["d1.out"], "--cache", "none")).Ok();
        Files.AssertSameBytes(img, scratch["d1.out"]);
        // The first mirror goes away: the second one serves.
        await s1.DisposeAsync();
        (await CircularCli.RunAsync("cat", uo.ToString(), "os", "-o", scratch["d2.out"], "--cache", "none")).Ok();
        Files.AssertSameBytes(img, scratch["d2.out"]);
        // Without the list nothing would have answered: a client told not to look at it fails.
        (await CircularCli.RunAsync("mirrors", "remove", origin, u1.ToString(), u2.ToString())).Ok();
        Assert.NotEqual(0, (await CircularCli.RunAsync("cat", uo.ToString(), "os", "-o", scratch["d3.out"], "--cache", "none")).Code);
    }

    [Fact]
    public async Task SignedMirrorList_thatWasAltered_isIgnoredWithAWarning()
    {
        string origin = await scratch.InitArchiveAsync("signed");
        string key = scratch["m.key"];
        (await CircularCli.RunAsync("key", "generate", key)).Ok();
        string img = RandomData.WriteFile(scratch["s.img"], 300_000, 2);
        (await CircularCli.RunAsync("push", origin, "os", img, "--key", key)).Ok();
        var unsignedAdd = await CircularCli.RunAsync("mirrors", "add", origin, "http://127.0.0.1:9/");
        Assert.NotEqual(0, unsignedAdd.Code); // a signed archive's list is signed too
        var added = (await CircularCli.RunAsync("mirrors", "add", origin, "http://127.0.0.1:9/", "--key", key)).Ok();
        Assert.Contains("signed with key", added.Out);
        Assert.Contains("signature claims key", (await CircularCli.RunAsync("mirrors", "list", origin)).Ok().Out);
        string listFile = Path.Combine(origin, "mirrors.json");
        File.WriteAllText(listFile, File.ReadAllText(listFile).Replace("127.0.0.1:9", "127.0.0.1:10"));
        var (server, url) = await CircularCli.ServeAsync(origin);
        await using var _ = server;

        var r = (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", scratch["s.out"], "--cache", "none", "--trust", key + ".pub")).Ok();

        Assert.Contains("ignoring the mirror list", r.Err);
        Files.AssertSameBytes(img, scratch["s.out"]);
    }

    [Fact]
    public async Task BadMirrorsInput_givesOneLineErrors()
    {
        string origin = await scratch.InitArchiveAsync("bad");
        var r = await CircularCli.RunAsync("mirrors", "add", origin, "ftp://example.invalid/");
        Assert.Equal(2, r.Code);
        Assert.Contains("not an http(s) base URL", r.Err);
        Assert.Contains("publishes no mirror list", (await CircularCli.RunAsync("mirrors", "list", origin)).Ok().Out);
        File.WriteAllText(Path.Combine(origin, "mirrors.json"), "{\"format\":\"circular-mirrors\",\"formatVersion\":9,\"mirrors\":[]}");
        var tooNew = await CircularCli.RunAsync("mirrors", "list", origin);
        Assert.NotEqual(0, tooNew.Code);
        Assert.Contains("too new", tooNew.Err);
    }
}
