using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Storage.Archive;

namespace Circular.Storage.Tests;

public class ArchiveMaintenanceTests
{
    [Fact]
    public async Task CheckAsync_missingAndCorruptChunks_nameTheVersionsTheyBreak()
    {
        using var t = await TempArchive.CreateAsync();
        byte[] shared = TempArchive.Block(1), onlyV2 = TempArchive.Block(2), ok = TempArchive.Block(3);
        await t.PushAsync("os", [shared, ok]);
        await t.PushAsync("os", [shared, onlyV2]);
        File.Delete(t.ChunkFilePath(shared));
        await using (var f = File.OpenWrite(t.ChunkFilePath(onlyV2))) { f.Position = 200; f.Write("garbage!"u8); }

        var verifier = new ArchiveVerifier(t.Archive.Reader);
        var plan = await verifier.PlanAsync(null, CancellationToken.None);
        var problems = await verifier.CheckAsync(plan, 2, CancellationToken.None);

        Assert.Equal(3, plan.Chunks.Count);
        Assert.Equal(2, problems.Count);
        var missing = Assert.Single(problems, p => p.Detail == "missing");
        Assert.Equal(["os@1", "os@2"], missing.Breaks.Order());
        Assert.Contains(ChunkId.Compute(shared).ToHex(), missing.Subject);
        var corrupt = Assert.Single(problems, p => p.Detail.StartsWith("corrupt", StringComparison.Ordinal));
        Assert.Equal(["os@2"], corrupt.Breaks);
    }

    [Fact]
    public async Task RunAsync_keepLastOne_forgetsOldUntaggedVersionsAndTheirChunks()
    {
        using var t = await TempArchive.CreateAsync();
        await t.PushAsync("os", [TempArchive.Block(1)], tag: "first");
        await t.PushAsync("os", [TempArchive.Block(2)]);
        await t.PushAsync("os", [TempArchive.Block(3)]);

        var report = await new GarbageCollector(t.Archive).RunAsync(1, dryRun: false, CancellationToken.None);

        Assert.Equal(["os@2"], report.ForgottenVersions);
        Assert.Equal(1, report.ChunksDeleted);
        Assert.False(File.Exists(t.ChunkFilePath(TempArchive.Block(2))));
        Assert.True(File.Exists(t.ChunkFilePath(TempArchive.Block(1))));
        Assert.False(File.Exists(Path.Combine(t.Dir, ArchiveLayout.ManifestPath("os", 2))));
        var refs = await t.Archive.Reader.GetRefsAsync("os", CancellationToken.None);
        Assert.Equal([1, 3], refs.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task RunAsync_dryRun_deletesNothing()
    {
        using var t = await TempArchive.CreateAsync();
        await t.PushAsync("os", [TempArchive.Block(1)]);
        await t.PushAsync("os", [TempArchive.Block(2)]);
        var before = Snapshot(t.Dir);

        var report = await new GarbageCollector(t.Archive).RunAsync(1, dryRun: true, CancellationToken.None);

        Assert.Equal(["os@1"], report.ForgottenVersions);
        Assert.Equal(1, report.ChunksDeleted);
        Assert.Equal(before, Snapshot(t.Dir));
    }

    /// <summary>Every file's path and bytes, except the empty flock files under .locks (gc takes its lock even in a dry run).</summary>
    private static List<string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/.locks/", StringComparison.Ordinal))
            .Select(f => f + " " + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))))
            .Order(StringComparer.Ordinal).ToList();
}
