using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class TagCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME@VERSION to tag" };
        var tag = new Argument<string>("TAG") { Description = "Tag name (moves the tag if it exists)" };
        var cmd = new Command("tag", "Name a version: NAME@TAG then selects it everywhere a version is accepted") { archive, spec, tag };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            var s = ImageSpec.Parse(pr.GetValue(spec)!);
            string t = pr.GetValue(tag)!;
            ImageName.ValidateTag(t);
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            int version = 0;
            await la.UpdateRefsAsync(s.Name, refs =>
            {
                version = ArchiveReader.Resolve(refs, s).Version;
                var tags = new Dictionary<string, int>(refs.Tags, StringComparer.Ordinal) { [t] = version };
                return refs with { Tags = tags };
            }, ct);
            System.Console.WriteLine($"tagged {s.Name}@{version} as {t}");
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
