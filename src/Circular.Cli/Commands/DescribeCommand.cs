using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Refs;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class DescribeCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var name = new Argument<string>("NAME") { Description = "Image name" };
        var text = new Argument<string>("TEXT") { Description = $"What the image is, for people browsing the catalog (plain text, at most {ImageRefs.MaxDescription} characters; \"\" removes it)" };
        var cmd = new Command("describe", "Set the description the catalog shows for an image (kept in its refs, so signed with them)") { archive, name, text };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            string image = pr.GetValue(name)!;
            ImageName.Validate(image);
            string description = pr.GetValue(text)!.Trim();
            if (description.Length > ImageRefs.MaxDescription) throw new UsageException($"the description has {description.Length} characters; at most {ImageRefs.MaxDescription} are kept");
            if (description.Any(c => char.IsControl(c) && c != '\n')) throw new UsageException("the description holds control characters; give plain text");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            await la.UpdateRefsAsync(image, refs => refs with { Description = description.Length == 0 ? null : description }, ct);
            System.Console.WriteLine(description.Length == 0 ? $"removed the description of {image}" : $"described {image}");
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
