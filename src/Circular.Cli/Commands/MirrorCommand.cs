using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Signing;
using Circular.Storage.Backends;
using Circular.Storage.Http;
using Circular.Storage.Replication;

namespace Circular.Cli.Commands;

public static class MirrorCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "The archive to replicate: a directory, an http(s) URL or s3://BUCKET/PREFIX" };
        var dest = new Argument<string>("DEST") { Description = "The mirror: a directory (created if missing) or s3://BUCKET/PREFIX" };
        var watch = new Option<double?>("--watch") { Description = "Keep running: poll the source's refs every SECONDS and replicate each new version as it appears" };
        var images = new Option<string?>("--images") { Description = "Replicate only these images (comma-separated names)" };
        var trust = new Option<string[]>("--trust") {
            Description = "Accept only a source signed by this public key (KEY.pub; repeatable). Default: the keys the mirror already has, else the source's own",
            AllowMultipleArgumentsPerToken = false,
        };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the source before failing (URL sources)", DefaultValueFactory = _ => 30 };
        var parallel = new Option<int>("--parallel") { Description = "Chunk copies in flight", DefaultValueFactory = _ => 16 };
        var cmd = new Command("mirror",
            "Replicate an archive (the stratum 1): copy only what the mirror lacks, verify every chunk and signature before writing it, " +
            "write refs last, resume after an interruption. A corrupt or unsigned source object is refused and reported, and that image is not advanced")
            { source, dest, watch, images, trust, timeout, parallel };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string from = pr.GetValue(source)!, to = pr.GetValue(dest)!;
            double? every = pr.GetValue(watch);
            if (every is <= 0) throw new UsageException("--watch needs a positive number of seconds");
            if (pr.GetValue(parallel) is < 1 or > 256) throw new UsageException("--parallel: choose from 1 to 256");
            if (!(pr.GetValue(timeout) > 0)) throw new UsageException("--timeout must be positive");
            var options = new MirrorOptions {
                Images = pr.GetValue(images)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                TrustedKeys = (pr.GetValue(trust) ?? []).Select(VerifyingKey.Load).ToList(),
                Parallelism = pr.GetValue(parallel),
                Log = ConsoleLog.Instance,
            };
            var backend = ArchiveStores.OpenBareBackend(pr, from, TimeSpan.FromSeconds(pr.GetValue(timeout)));
            using var owned = backend as IDisposable;
            var store = OpenDest(pr, to);
            while (true)
            {
                int rc;
                try
                {
                    rc = await RunOnceAsync(backend, store, options, ct);
                }
                catch (CircularException e) when (every is not null && e.Kind is ErrorKind.Unavailable)
                {
                    // A watching mirror outlives the source's outages: the next poll tries again.
                    System.Console.Error.WriteLine($"circular: {e.Message}; trying again in {every} s");
                    rc = CommandAction.Failed;
                }
                if (every is not { } seconds) return rc;
                // A watching mirror is a service: a stop (SIGTERM, Ctrl-C) between two polls is its normal end.
                try { await Task.Delay(TimeSpan.FromSeconds(seconds), ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { return CommandAction.Ok; }
            }
        });
        return cmd;
    }

    private static async Task<int> RunOnceAsync(IArchiveBackend source, Storage.Writing.IArchiveStore dest, MirrorOptions options, CancellationToken ct)
    {
        var report = await ArchiveMirror.RunAsync(source, dest, options with {
            Progress = (what, count, done) => ProgressBar.Start($"mirror {what}", count, done),
        }, ct);
        if (report.KeysTrustedOnFirstUse.Count > 0)
            System.Console.Error.WriteLine($"circular: warning: mirroring an archive signed by key {string.Join(", ", report.KeysTrustedOnFirstUse)}, trusted on first use (pass --trust KEY.pub to pin a key you checked)");
        foreach (var i in report.Images)
            System.Console.WriteLine(i.UpToDate ? $"{i.Image}: up to date (serial {i.Serial})" : $"{i.Image}: {i.VersionsCopied} version(s) copied, refs at serial {i.Serial}");
        foreach (var p in report.Problems) System.Console.Error.WriteLine($"circular: refused {p.Image}: {p.Detail}");
        System.Console.WriteLine($"copied {report.ObjectsCopied} objects ({ByteSize.Format(report.BytesCopied)}) from {source.Location} to {dest.Location}; {report.SourceRequests} source reads");
        return report.Problems.Count > 0 ? CommandAction.Failed : CommandAction.Ok;
    }

    private static Storage.Writing.IArchiveStore OpenDest(ParseResult pr, string location)
    {
        if (!ArchiveLocation.IsRemote(location))
        {
            if (File.Exists(location)) throw new UsageException($"{location} is a file, not a directory");
            // Writer state (.locks/, .tmp/) is all a mirror killed before it wrote circular.json leaves: a re-run resumes.
            if (Directory.Exists(location) && !File.Exists(Path.Combine(location, Core.Archive.ArchiveLayout.ConfigPath))
                && Directory.EnumerateFileSystemEntries(location).Any(e => !Path.GetFileName(e).StartsWith('.')))
                throw new UsageException($"{location} is neither a Circular archive nor empty; choose an empty or new directory for the mirror");
            Directory.CreateDirectory(location);
        }
        return ArchiveStores.OpenStore(pr, location);
    }
}
