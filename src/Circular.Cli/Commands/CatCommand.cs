using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Imaging.Images;

namespace Circular.Cli.Commands;

public static class CatCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME (latest), NAME@VERSION or NAME@TAG" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to FILE (sparse where blocks are zero) instead of standard output" };
        var client = new ClientOptions();
        var cmd = new Command("cat", "Reconstruct the exact bytes of an image version") { archive, spec, output };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var imageSpec = ImageSpec.Parse(pr.GetValue(spec)!);
            await using var archiveClient = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(archive)!), ct);
            var image = await archiveClient.OpenImageAsync(imageSpec, ct);
            string? o = pr.GetValue(output);
            if (o is null || o == "-") await ImageExport.ToStreamAsync(image, System.Console.OpenStandardOutput(), ct);
            else
            {
                long done = 0;
                using (ProgressBar.Start($"cat {image.Name}", image.Size, () => Interlocked.Read(ref done)))
                    await ImageExport.ToFileAsync(image, o, n => Interlocked.Add(ref done, n), ct);
            }
            return CommandAction.Ok;
        });
        return cmd;
    }
}
