using System.CommandLine;
#if !GUEST
using Circular.Cli.Commands;
using Circular.Core.Errors;
using Circular.Server.Catalog;
using Circular.Storage.Archive;
#endif

namespace Circular.Cli.Composition;

/// <summary>Keeps an archive's static catalog current: every publishing command rewrites it after a success, when the archive has one.</summary>
public static class CatalogRefresh
{
#if GUEST
    // The in-guest build carries no catalog (it publishes nothing to a web site).
    public static Func<ParseResult, CancellationToken, Task<int>> After(Argument<string> archive, Func<ParseResult, CancellationToken, Task<int>> body) => body;
#else
    public static Func<ParseResult, CancellationToken, Task<int>> After(Argument<string> archive, Func<ParseResult, CancellationToken, Task<int>> body) =>
        async (pr, ct) =>
        {
            int rc = await body(pr, ct).ConfigureAwait(false);
            if (rc == CommandAction.Ok) await RefreshAsync(pr.GetValue(archive)!, ct).ConfigureAwait(false);
            return rc;
        };

    private static async Task RefreshAsync(string root, CancellationToken ct)
    {
        if (ArchiveStores.IsS3(root) || !Directory.Exists(root) || !StaticCatalog.Exists(root)) return;
        try
        {
            var result = await WriteAsync(root, StaticCatalog.ReadSettings(root)!, ct).ConfigureAwait(false);
            if (result.Written > 0) System.Console.WriteLine($"catalog: {result.Written} file(s) updated");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // What was published stays published; only the pages lag behind.
            System.Console.Error.WriteLine($"circular: warning: the archive changed but its catalog was not updated: {e.Message} (run 'circular catalog {root}')");
        }
    }

    public static async Task<StaticCatalogResult> WriteAsync(string root, StaticCatalogSettings settings, CancellationToken ct)
    {
        var archive = await WritableArchive.OpenAsync(root, ct).ConfigureAwait(false);
        return await StaticCatalog.WriteAsync(Path.GetFullPath(root), new CatalogReader(archive.Reader), settings, ct).ConfigureAwait(false);
    }
#endif
}
