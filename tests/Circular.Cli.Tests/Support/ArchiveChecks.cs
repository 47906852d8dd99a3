namespace Circular.Cli.Tests.Support;

public static class ArchiveChecks
{
    /// <summary>`circular verify ARCHIVE [OPTIONS]` exits 0 and finds every object good.</summary>
    public static async Task VerifyCleanAsync(string archive, params string[] options) =>
        Assert.Contains("all good", (await CircularCli.RunAsync(["verify", archive, .. options])).Ok().Out, StringComparison.Ordinal);
}
