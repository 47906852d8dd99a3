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

    /// <summary>
    /// Waits until a local archive holds <paramref name="atLeast"/> chunk files, <paramref name="writer"/> has exited, or
    /// a minute has passed: the point where a kill or signal test interrupts a writer that is storing chunks.
    /// </summary>
    public static async Task WaitForChunkFilesAsync(string archive, int atLeast, BackgroundProcess writer)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (CountChunkFiles(archive) < atLeast && !writer.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(20);
    }
}
