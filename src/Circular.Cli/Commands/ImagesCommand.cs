using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Chunks;

namespace Circular.Cli.Commands;

public static class ImagesCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var client = new ClientOptions();
        var json = new Option<bool>("--json") { Description = "Print the catalog's JSON (as /api/images answers): description, sizes, tags, signature and optimization of each image" };
        var cmd = new Command("images", "List the images in an archive with their latest version") { archive, json };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(archive)!), ct);
            if (pr.GetValue(json))
            {
                await CatalogOutput.PrintImagesAsync(stack.Reader, ct);
                return CommandAction.Ok;
            }
            var names = await stack.Reader.ListImagesAsync(ct);
            if (names.Count == 0) { System.Console.WriteLine("no images"); return CommandAction.Ok; }
            System.Console.WriteLine($"{"NAME",-24} {"LATEST",6} {"VERSIONS",8} {"SIZE",10}  UPDATED");
            foreach (var n in names)
            {
                var refs = await stack.Reader.TryGetRefsAsync(n, ct);
                if (refs is null) continue;
                var latest = refs.Find(refs.Latest);
                System.Console.WriteLine($"{n,-24} {refs.Latest,6} {refs.Versions.Count,8} {ByteSize.Format(latest?.Size ?? 0),10}  {refs.Updated.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");
            }
            return CommandAction.Ok;
        });
        return cmd;
    }
}
