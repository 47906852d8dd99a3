namespace Circular.Cli.Tests.Support;

public static class ScratchArchives
{
    /// <summary>A new archive in the scratch directory, made with `circular init`.</summary>
    public static async Task<string> InitArchiveAsync(this Scratch scratch, string name, params string[] options)
    {
        string archive = scratch[name];
        (await CircularCli.RunAsync(["init", archive, .. options])).Ok();
        return archive;
    }
}
