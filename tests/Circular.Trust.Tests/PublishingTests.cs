using Circular.Trust.Tests.Support;

namespace Circular.Trust.Tests;

/// <summary>The writer side: signing an existing unsigned archive, and maintenance of a signed one keeping it readable.</summary>
public sealed class PublishingTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task Resign_signs_an_archive_published_without_a_key()
    {
        var publisher = _s.NewClient("publisher");
        string archive = _s["archive"];
        (await publisher.RunAsync("init", archive)).Ok();
        RandomData.WriteFile(_s["img"], 200_000, 3);
        (await publisher.RunAsync("push", archive, "os", _s["img"])).Ok();
        (await publisher.RunAsync("key", "generate", _s["k"])).Ok();
        var r = (await publisher.RunAsync("key", "resign", archive, "os", "--key", _s["k"], "--expires", "7d")).Ok();
        Assert.Contains("1 manifests signed", r.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(archive, "keys.json")));
        (await _s.NewClient().RunAsync("cat", archive, "os", "--trust", _s["k.pub"], "-o", _s["out"])).Ok();
        Assert.Equal(File.ReadAllBytes(_s["img"]), File.ReadAllBytes(_s["out"]));
    }

    [Fact]
    public async Task Gc_with_the_key_keeps_a_signed_archive_readable()
    {
        var a = await SignedArchive.CreateAsync(_s);
        var refused = await a.Publisher.RunAsync("gc", a.Root, "--keep-last", "1");
        Assert.Equal(2, refused.Code);
        Assert.Contains("--key", refused.Err, StringComparison.Ordinal);
        (await a.Publisher.RunAsync("gc", a.Root, "--keep-last", "1", "--key", a.Key)).Ok();
        var client = _s.NewClient();
        (await client.RunAsync("cat", a.Root, "os", "--trust", a.Pub, "-o", _s["out"])).Ok();
        Assert.Equal(File.ReadAllBytes(a.V2), File.ReadAllBytes(_s["out"]));
        (await client.RunAsync("cat", a.Root, "os@1", "--trust", a.Pub)).Refused("no version 1");
    }

    [Fact]
    public async Task Key_generate_refuses_to_overwrite_a_key()
    {
        var c = _s.NewClient();
        (await c.RunAsync("key", "generate", _s["k"])).Ok();
        var again = await c.RunAsync("key", "generate", _s["k"]);
        Assert.Equal(2, again.Code);
        Assert.Contains("not overwriting", again.Err, StringComparison.Ordinal);
    }
}
