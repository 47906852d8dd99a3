using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>verify re-hashes every referenced chunk and names the versions a bad one breaks.</summary>
public sealed class VerifyTests(Scratch scratch) : IClassFixture<Scratch>
{
    private const int Cs = 64 * 1024;

    /// <summary>Archive with os@1 = [shared, a] and os@2 = [shared, b], 64K chunks; returns the chunk paths.</summary>
    private async Task<(string Archive, string Shared, string OnlyV2)> BuildAsync(string name)
    {
        string archive = await scratch.InitArchiveAsync(name);
        byte[] shared = RandomData.Bytes(Cs, 1), a = RandomData.Bytes(Cs, 2), b = RandomData.Bytes(Cs, 3);
        File.WriteAllBytes(scratch[name + "1.img"], [.. shared, .. a]);
        File.WriteAllBytes(scratch[name + "2.img"], [.. shared, .. b]);
        await PushOutput.PushAsync(archive, "os", scratch[name + "1.img"], "--chunk-size", "64K");
        await PushOutput.PushAsync(archive, "os", scratch[name + "2.img"], "--chunk-size", "64K");
        string Chunk(byte[] d)
        {
            string hex = Core.Chunks.ChunkId.Compute(d).ToHex();
            return Path.Combine(archive, "chunks", hex[..2], hex);
        }
        return (archive, Chunk(shared), Chunk(b));
    }

    [Fact]
    public async Task Verify_healthyArchive_passes()
    {
        var (archive, _, _) = await BuildAsync("ok");
        var r = await CircularCli.RunAsync("verify", archive);
        Assert.Equal(0, r.Code);
        Assert.Contains("checked 2 versions, 3 chunks: all good", r.Out);
        Assert.Equal(0, (await CircularCli.RunAsync("verify", archive, "os@1")).Code);
    }

    [Fact]
    public async Task Verify_missingChunk_namesItAndEveryVersionItBreaks()
    {
        var (archive, shared, _) = await BuildAsync("miss");
        File.Delete(shared);
        var r = await CircularCli.RunAsync("verify", archive);
        Assert.NotEqual(0, r.Code);
        var bad = Assert.Single(r.Out.Split('\n'), l => l.StartsWith("BAD"));
        Assert.Contains(Path.GetFileName(shared), bad);
        Assert.Contains("missing", bad);
        Assert.Contains("os@1", bad);
        Assert.Contains("os@2", bad);
    }

    [Fact]
    public async Task Verify_corruptChunk_namesItAndOnlyTheVersionItBreaks()
    {
        var (archive, _, onlyV2) = await BuildAsync("corrupt");
        byte[] file = File.ReadAllBytes(onlyV2);
        file[^100] ^= 0x40;
        File.WriteAllBytes(onlyV2, file);
        var r = await CircularCli.RunAsync("verify", archive);
        Assert.NotEqual(0, r.Code);
        var bad = Assert.Single(r.Out.Split('\n'), l => l.StartsWith("BAD"));
        Assert.Contains(Path.GetFileName(onlyV2), bad);
        Assert.Contains("corrupt", bad);
        Assert.Contains("breaks os@2", bad);
        Assert.DoesNotContain("os@1", bad);
        Assert.Equal(0, (await CircularCli.RunAsync("verify", archive, "os@1")).Code);
        // cat refuses to return the corrupt bytes.
        var cat = await CircularCli.RunAsync("cat", archive, "os@2", "-o", scratch["corrupt-out"]);
        Assert.NotEqual(0, cat.Code);
        Assert.Contains("corrupt", cat.Err);
        Assert.False(File.Exists(scratch["corrupt-out"]), "a failed cat left an output file");
    }
}
