using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Errors;
using Circular.Server.Catalog;

namespace Circular.Cli.Commands;

public static class CatalogCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Local archive directory" };
        var url = new Option<string?>("--url") {
            Description = "The archive's public URL, for the command lines the pages show (kept for later rewrites; default: the page's own location, filled in by the browser)",
        };
        var cmd = new Command("catalog",
            "Write the archive's catalog as static files (index.html, catalog/NAME/*.html, api/*.json) so any web server, S3 or CDN shows it; " +
            "every publishing command keeps it current afterwards. 'serve' renders the same catalog live")
            { archive, url };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string root = pr.GetValue(archive)!;
            if (!Directory.Exists(root)) throw new NotFoundException($"{root} is not a Circular archive (no such directory)");
            var previous = StaticCatalog.ReadSettings(root);
            string? publicUrl = pr.GetValue(url) ?? previous?.Url;
            if (publicUrl is not null && !Client.ArchiveLocation.IsUrl(publicUrl)) throw new UsageException($"--url '{publicUrl}' is not an http(s) URL");
            var result = await CatalogRefresh.WriteAsync(root, new StaticCatalogSettings { Url = publicUrl?.TrimEnd('/') }, ct);
            System.Console.WriteLine($"catalog of {result.Images} image(s) in {Path.Combine(root, CatalogPaths.Index)}: {result.Pages} page(s), " +
                $"{result.Written} file(s) written, {result.Removed} removed");
            return CommandAction.Ok;
        });
        return cmd;
    }
}
