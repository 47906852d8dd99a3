using Circular.Trust.Tests.Support;

namespace Circular.Trust.Tests;

/// <summary>
/// A signed archive read through `circular serve` serving altered copies (a malicious mirror): every alteration is
/// refused with a clear message and no image bytes, while the honest copy reads back exactly.
/// </summary>
public sealed class MaliciousMirrorTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private async Task<RunResult> CatAsync(CliUser client, string url, string spec, string archivePub, params string[] extra) =>
        await client.RunAsync(["cat", url, spec, "--cache", "none", "--trust", archivePub, .. extra]);

    [Fact]
    public async Task Honest_mirror_is_read_with_the_trusted_key()
    {
        var a = await SignedArchive.CreateAsync(_s);
        await using var origin = await Served.StartAsync(a.Root);
        var client = _s.NewClient();
        string o = _s["out.img"];
        var r = (await client.RunAsync("cat", origin.Url, "os", "--cache", "none", "--trust", a.Pub, "-o", o)).Ok();
        Assert.Equal(File.ReadAllBytes(a.V2), File.ReadAllBytes(o));
        Assert.DoesNotContain("warning", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_manifest_with_matching_refs_is_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        SignedArchive.SwapBlockInManifest(mirror, 2, 0, 5);
        await using var served = await Served.StartAsync(mirror);
        var r = (await CatAsync(_s.NewClient(), served.Url, "os", a.Pub)).Refused("refs of image 'os'");
        Assert.Contains("was altered", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_manifest_alone_is_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        var bytes = File.ReadAllBytes(SignedArchive.ManifestPath(mirror, 2));
        bytes[^40] ^= 1; // inside the chunk list
        File.WriteAllBytes(SignedArchive.ManifestPath(mirror, 2), bytes);
        await using var served = await Served.StartAsync(mirror);
        (await CatAsync(_s.NewClient(), served.Url, "os", a.Pub)).Refused("manifest");
    }

    [Fact]
    public async Task Manifest_resigned_by_the_attacker_is_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        SignedArchive.SwapBlockInManifest(mirror, 2, 0, 5);
        SignedArchive.SignManifest(mirror, 2, a.EvilKey);
        SignedArchive.SignRefs(mirror, a.EvilKey, SignedArchive.Serial(mirror), TimeSpan.FromDays(1));
        await using var served = await Served.StartAsync(mirror);
        (await CatAsync(_s.NewClient(), served.Url, "os", a.Pub)).Refused("which is not trusted");
    }

    [Fact]
    public async Task Swapped_chunk_is_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        // The file of block 0's chunk now holds another (valid) chunk of the image.
        var blocks = Circular.Core.Manifests.Manifest.Parse(File.ReadAllBytes(SignedArchive.ManifestPath(mirror, 2)), "test").Blocks;
        string Chunk(int block) => Path.Combine(mirror, Circular.Core.Archive.ArchiveLayout.ChunkPath(blocks[block]));
        string[] chunks = [Chunk(0), Chunk(1)];
        File.Copy(chunks[1], chunks[0], overwrite: true);
        await using var served = await Served.StartAsync(mirror);
        string o = _s["out.img"];
        var r = await _s.NewClient().RunAsync("cat", served.Url, "os", "--cache", "none", "--trust", a.Pub, "-o", o);
        Assert.Equal(1, r.Code);
        Assert.Contains($"chunk {Path.GetFileName(chunks[0])}", r.Err, StringComparison.Ordinal);
        Assert.Contains("corrupt", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", r.Err.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forged_refs_signature_is_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        // Roll "latest" back to version 1 and sign with the attacker's key while claiming the trusted key's id.
        SignedArchive.EditRefs(mirror, r => r["latest"] = 1);
        string trustedId = Circular.Core.Signing.VerifyingKey.Load(a.Pub).Id;
        SignedArchive.SignRefs(mirror, a.EvilKey, SignedArchive.Serial(mirror), TimeSpan.FromDays(1), claimKeyId: trustedId);
        await using var served = await Served.StartAsync(mirror);
        (await CatAsync(_s.NewClient(), served.Url, "os", a.Pub)).Refused("forged or corrupt signature");
    }

    [Fact]
    public async Task Edited_refs_under_the_old_signature_are_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        SignedArchive.EditRefs(mirror, r => r["latest"] = 1);
        await using var served = await Served.StartAsync(mirror);
        (await CatAsync(_s.NewClient(), served.Url, "os", a.Pub)).Refused("was altered");
    }

    [Fact]
    public async Task Wrong_key_is_refused()
    {
        var a = await SignedArchive.CreateAsync(_s);
        await using var origin = await Served.StartAsync(a.Root);
        var r = (await CatAsync(_s.NewClient(), origin.Url, "os", a.EvilPub)).Refused("which is not trusted");
        Assert.Contains(Circular.Core.Signing.VerifyingKey.Load(a.EvilPub).Id, r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsigned_mirror_is_refused_when_a_key_is_trusted()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string mirror = a.Snapshot("mirror");
        foreach (var sig in Directory.GetFiles(mirror, "*.sig", SearchOption.AllDirectories)) File.Delete(sig);
        File.Delete(Path.Combine(mirror, "keys.json"));
        await using var served = await Served.StartAsync(mirror);
        (await CatAsync(_s.NewClient(), served.Url, "os", a.Pub)).Refused("is not signed");
    }

    [Fact]
    public async Task Expired_refs_are_refused_until_resigned()
    {
        var a = await SignedArchive.CreateAsync(_s, "--expires", "2s");
        await using var origin = await Served.StartAsync(a.Root);
        var client = _s.NewClient();
        await Task.Delay(TimeSpan.FromSeconds(3));
        (await CatAsync(client, origin.Url, "os", a.Pub)).Refused("expired at");
        var resign = (await a.Publisher.RunAsync("key", "resign", a.Root, "--key", a.Key)).Ok();
        Assert.Contains("resigned os", resign.Out, StringComparison.Ordinal);
        string o = _s["out.img"];
        (await client.RunAsync("cat", origin.Url, "os", "--cache", "none", "--trust", a.Pub, "-o", o)).Ok();
        Assert.Equal(File.ReadAllBytes(a.V2), File.ReadAllBytes(o));
    }

    [Fact]
    public async Task Replayed_old_refs_are_refused_but_a_version_by_number_is_served()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string stale = a.Snapshot("stale"); // validly signed, serial 2
        (await a.Publisher.RunAsync("tag", a.Root, "os@2", "stable", "--key", a.Key)).Ok(); // serial 3 at the origin
        await using var origin = await Served.StartAsync(a.Root);
        await using var mirror = await Served.StartAsync(stale);
        var client = _s.NewClient();
        (await client.RunAsync("log", origin.Url, "os", "--cache", "none", "--trust", a.Pub)).Ok(); // sees serial 3
        (await CatAsync(client, mirror.Url, "os", a.Pub)).Refused("is a replay: serial 2 is older than serial 3");
        string o = _s["v1.out"];
        var r = (await client.RunAsync("cat", mirror.Url, "os@1", "--cache", "none", "--trust", a.Pub, "-o", o)).Ok();
        Assert.Equal(File.ReadAllBytes(a.V1), File.ReadAllBytes(o));
        Assert.Contains("older than 3 already seen", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task First_use_pins_the_key_with_a_warning_and_then_refuses_another()
    {
        var a = await SignedArchive.CreateAsync(_s);
        string served = a.Snapshot("served");
        await using var mirror = await Served.StartAsync(served);
        var client = _s.NewClient();
        var first = (await client.RunAsync("log", mirror.Url, "os", "--cache", "none")).Ok();
        Assert.Contains("on first use", first.Err, StringComparison.Ordinal);
        var second = (await client.RunAsync("log", mirror.Url, "os", "--cache", "none")).Ok();
        Assert.DoesNotContain("warning", second.Err, StringComparison.Ordinal);
        Assert.Contains($"(signed by key {Circular.Core.Signing.VerifyingKey.Load(a.Pub).Id}, serial 2, valid until", second.Out, StringComparison.Ordinal);

        // The same URL now serves an archive re-signed by another key (announced in keys.json too): refused.
        SignedArchive.SignManifest(served, 1, a.EvilKey);
        SignedArchive.SignManifest(served, 2, a.EvilKey);
        SignedArchive.SignRefs(served, a.EvilKey, SignedArchive.Serial(served), TimeSpan.FromDays(1));
        string evilId = Circular.Core.Signing.VerifyingKey.Load(a.EvilPub).Id;
        File.Copy(a.EvilPub, Path.Combine(served, "keys", evilId + ".pub"));
        File.WriteAllText(Path.Combine(served, "keys.json"), $$"""{"format":"circular-keys","formatVersion":1,"keys":[{"id":"{{evilId}}"}]}""");
        (await client.RunAsync("cat", mirror.Url, "os", "--cache", "none")).Refused("which is not trusted");

        // ... and stripping the signatures does not downgrade the pinned client to unsigned reads.
        foreach (var sig in Directory.GetFiles(served, "*.sig", SearchOption.AllDirectories)) File.Delete(sig);
        File.Delete(Path.Combine(served, "keys.json"));
        (await client.RunAsync("cat", mirror.Url, "os", "--cache", "none")).Refused("is not signed");
    }

    [Fact]
    public async Task Unsigned_archive_without_trust_reads_as_before()
    {
        var client = _s.NewClient();
        string archive = _s["plain"];
        (await client.RunAsync("init", archive)).Ok();
        RandomData.WriteFile(_s["img"], 300_000, 7);
        (await client.RunAsync("push", archive, "os", _s["img"])).Ok();
        await using var served = await Served.StartAsync(archive);
        string o = _s["out.img"];
        var r = (await client.RunAsync("cat", served.Url, "os", "--cache", "none", "-o", o)).Ok();
        Assert.Equal(File.ReadAllBytes(_s["img"]), File.ReadAllBytes(o));
        Assert.Equal("", r.Err.Trim());
        (await client.RunAsync("key", "generate", _s["k"])).Ok();
        (await client.RunAsync("cat", served.Url, "os", "--cache", "none", "--trust", _s["k.pub"])).Refused("is not signed");
    }

    [Fact]
    public async Task Writers_refuse_to_publish_unsigned_into_a_signed_archive()
    {
        var a = await SignedArchive.CreateAsync(_s);
        var r = await a.Publisher.RunAsync("push", a.Root, "os", a.V1);
        Assert.Equal(2, r.Code);
        Assert.Contains("is a signed archive", r.Err, StringComparison.Ordinal);
        (await a.Publisher.RunAsync("rollback", a.Root, "os", "1", "--key", a.Key)).Ok();
        (await _s.NewClient().RunAsync("cat", a.Root, "os", "--trust", a.Pub, "-o", _s["o"])).Ok();
        Assert.Equal(File.ReadAllBytes(a.V1), File.ReadAllBytes(_s["o"]));
    }
}
