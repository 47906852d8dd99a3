namespace Circular.Cli.Tests.Support;

public static class ArchiveChecks
{
    /// <summary>`circular verify ARCHIVE [OPTIONS]` exits 0 and finds every object good.</summary>
    public static async Task VerifyCleanAsync(string archive, params string[] options) =>
        Assert.Contains("all good", (await CircularCli.RunAsync(["verify", archive, .. options])).Ok().Out, StringComparison.Ordinal);

    /// <summary>Chunk files stored in a local archive (a writer's hidden temporary files not counted).</summary>
    public static int CountChunkFiles(string archive)
    {
        string dir = Path.Combine(archive, "chunks");
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith('.')) : 0;
    }
}
