using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class GcCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var keepLast = new Option<int?>("--keep-last") { Description = "Keep only the newest N versions of each image (latest and tagged versions are always kept)" };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Report what would be deleted; change nothing" };
        var cmd = new Command("gc", "Delete chunks no kept version references (waits for running pushes to finish)") { archive, keepLast, dryRun };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            int? keep = pr.GetValue(keepLast);
            if (keep is < 1) throw new UsageException("--keep-last must be at least 1");
            bool dry = pr.GetValue(dryRun);
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            var r = await new GarbageCollector(la).RunAsync(keep, dry, ct);
            string verb = dry ? "would delete" : "deleted";
            if (r.ForgottenVersions.Count > 0) System.Console.WriteLine($"{(dry ? "would forget" : "forgot")} versions: {string.Join(", ", r.ForgottenVersions)}");
            System.Console.WriteLine($"{verb} {r.ChunksDeleted} of {r.Chunks} chunks, freeing {ByteSize.Format(r.BytesFreed)}" +
                (r.TempFilesDeleted > 0 ? $"; {verb} {r.TempFilesDeleted} leftover temporary files" : "") +
                (r.HotFilesDeleted > 0 ? $"; {verb} {r.HotFilesDeleted} profiles, pack indexes and packs no kept version uses" : ""));
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
