using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class RollbackCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var name = new Argument<string>("NAME") { Description = "Image name" };
        var version = new Argument<string>("VERSION") { Description = "Version number or tag to make latest" };
        var cmd = new Command("rollback",
            "Point 'latest' at another version (older: roll back; newer: roll forward). No version is deleted.") { archive, name, version };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            var s = ImageSpec.Parse($"{pr.GetValue(name)}@{pr.GetValue(version)}");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            int from = 0, to = 0;
            await la.UpdateRefsAsync(s.Name, refs =>
            {
                from = refs.Latest;
                to = ArchiveReader.Resolve(refs, s).Version;
                return refs with { Latest = to };
            }, ct);
            string dir = to < from ? "rolled back" : to > from ? "rolled forward" : "unchanged:";
            System.Console.WriteLine($"{s.Name}: {dir} latest {from} -> {to}");
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
