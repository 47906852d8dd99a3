using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>gc deletes what no kept version references, forgets old versions on request, and never touches kept data.</summary>
public sealed class GcTests(Scratch scratch) : IClassFixture<Scratch>
{
    private static string[] ChunkFiles(string archive) =>
        Directory.GetFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public async Task Gc_unreferencedChunkAndStaleTempFile_areRemoved()
    {
        string archive = await scratch.InitArchiveAsync("u");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["u.img"], 600_000, 1));
        var before = ChunkFiles(archive);
        string orphanHex = Core.Chunks.ChunkId.Compute("orphan"u8).ToHex();
        string orphan = Path.Combine(archive, "chunks", orphanHex[..2], orphanHex);
        Directory.CreateDirectory(Path.GetDirectoryName(orphan)!);
        File.Copy(Directory.GetFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories)[0], orphan);
        string temp = Path.Combine(Path.GetDirectoryName(orphan)!, $".tmp-{orphanHex}-4242-deadbeef");
        File.WriteAllText(temp, "half a chunk");

        var r = (await CircularCli.RunAsync("gc", archive)).Ok();

        Assert.Contains($"deleted 1 of {before.Length + 1} chunks", r.Out);
        Assert.Contains("1 leftover temporary files", r.Out);
        Assert.False(File.Exists(orphan));
        Assert.False(File.Exists(temp));
        Assert.Equal(before, ChunkFiles(archive));
        Assert.Equal(0, (await CircularCli.RunAsync("verify", archive)).Code);
    }

    [Fact]
    public async Task Gc_keepLast_forgetsOldVersionsButKeepsTaggedAndLatest()
    {
        string archive = await scratch.InitArchiveAsync("k");
        var imgs = Enumerable.Range(1, 4).Select(i => RandomData.WriteFile(scratch[$"k{i}.img"], 300_000, 10 + i)).ToArray();
        foreach (var img in imgs) await PushOutput.PushAsync(archive, "os", img);
        (await CircularCli.RunAsync("tag", archive, "os@1", "keepme")).Ok();
        (await CircularCli.RunAsync("rollback", archive, "os", "2")).Ok();
        // Kept: 4 (newest), 1 (tagged), 2 (latest). Forgotten: 3.

        var r = (await CircularCli.RunAsync("gc", archive, "--keep-last", "1")).Ok();

        Assert.Contains("forgot versions: os@3", r.Out);
        Assert.Equal([1, 2, 4], RefsFile.Versions(archive, "os"));
        Assert.False(File.Exists(Path.Combine(archive, "images", "os", "versions", "3")));
        foreach (var (v, img) in new[] { (1, imgs[0]), (2, imgs[1]), (4, imgs[3]) })
        {
            (await CircularCli.RunAsync("cat", archive, $"os@{v}", "-o", scratch[$"k-out{v}"])).Ok();
            Files.AssertSameBytes(img, scratch[$"k-out{v}"]);
        }
        Assert.NotEqual(0, (await CircularCli.RunAsync("cat", archive, "os@3", "-o", scratch["k-out3"])).Code);
        Assert.Equal(0, (await CircularCli.RunAsync("verify", archive)).Code);
        // Only the chunks of version 3 went: 300,000 random bytes are 2 blocks of 256K.
        Assert.Equal(6, ChunkFiles(archive).Length);
    }

    [Fact]
    public async Task Gc_dryRun_reportsButChangesNothing()
    {
        string archive = await scratch.InitArchiveAsync("n");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["n1.img"], 300_000, 21));
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["n2.img"], 300_000, 22));
        var snap = Files.Snapshot(archive);

        var r = (await CircularCli.RunAsync("gc", archive, "--keep-last", "1", "--dry-run")).Ok();

        Assert.Contains("would forget versions: os@1", r.Out);
        Assert.Contains("would delete 2 of 4 chunks", r.Out);
        Assert.Equal(snap, Files.Snapshot(archive));
    }
}
